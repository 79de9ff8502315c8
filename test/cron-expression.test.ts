import { expect, test } from 'vitest';
import { cronMatches } from '../src/lib/cron-expression';

test.each([
  ['17 3 * * *', '2026-11-28T03:17:00Z', true],
  ['17 3 * * *', '2026-11-28T03:18:00Z', false],
  ['17 3 * * *', '2026-11-28T04:17:00Z', false],
  ['5 * * * *', '2026-11-28T22:05:30Z', true],
  ['*/15 * * * *', '2026-11-28T22:45:00Z', true],
  ['*/15 * * * *', '2026-11-28T22:46:00Z', false],
  ['0 9 * * 1-5', '2026-11-30T09:00:00Z', true], // a Monday
  ['0 9 * * 1-5', '2026-11-29T09:00:00Z', false], // a Sunday
  ['0 0 1,15 * *', '2026-11-15T00:00:00Z', true],
])('%s at %s → %s', (expression, at, expected) => {
  expect(cronMatches(expression, new Date(at))).toBe(expected);
});

test('refuses an expression without 5 fields', () => {
  expect(() => cronMatches('* * *', new Date())).toThrow(/5-field/);
});
