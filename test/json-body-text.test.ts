/**
 * `plainJsonText` lets a JSON body skip the walk of `jsonBodyProblem`: it must never say "plain" of a
 * text whose value the walk would refuse, and it must say so of what the qa CLI sends (else the walk
 * is never skipped).
 */
import { describe, expect, test } from 'vitest';
import { jsonBodyProblem, plainJsonText } from '../src/lib/json-body';
import { qatoolsRequests } from './support/fixtures';

const MAX_DEPTH = 64;

describe('plainJsonText', () => {
  test.each([
    ['a NUL in a value', '{"a": "x\\u0000y"}'],
    ['a lone surrogate in a key', '{"k\\udfff": 1}'],
    ['a lone low surrogate in a nested string', '{"a": ["ok", {"b": "\\udc00"}]}'],
    ['a `__proto__` key', '{"m": {"__proto__": {"polluted": 1}}}'],
    ['a `__proto__` key spelled with an escape', '{"m": {"\\u005f_proto__": {"polluted": 1}}}'],
    ['1e309', '{"gain": 1e309}'],
    ['-1E+400 after whitespace', '{"gain":\n\t -1E+400}'],
    ['2.5e308 in an array', '[1, 2.5e308]'],
    ['a top-level 1e309', '1e309'],
    ['an integer of 400 digits', `{"n": ${'9'.repeat(400)}}`],
    ['an integer of 309 nines (the fewest digits that overflow)', `{"n": ${'9'.repeat(309)}}`],
    ['arrays nested 65 deep', `${'['.repeat(65)}${']'.repeat(65)}`],
    ['objects nested 65 deep', `${'{"a":'.repeat(65)}1${'}'.repeat(65)}`],
  ])('%s: the walk finds a problem, and the text is not plain', (_case, text) => {
    expect(jsonBodyProblem(JSON.parse(text), MAX_DEPTH)).toBeDefined();
    expect(plainJsonText(text, MAX_DEPTH)).toBe(false);
  });

  test("every JSON body the qa CLI sent (captured) is plain: the walk isn't needed for them", () => {
    const bodies = qatoolsRequests().filter((r) => r.json !== undefined);
    expect(bodies.length).toBeGreaterThan(3);
    for (const { json } of bodies) expect(plainJsonText(JSON.stringify(json), MAX_DEPTH)).toBe(true);
  });

  test('over 20,000 random values, a plain text never parses to a value the walk refuses', () => {
    let seed = 42;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const pieces = ['a', 'é', '日', '_', '__proto__', '\u0000', '\ud800', '\udfff', '😀', '{', '[', ':1e9', ',2', '\\', '"'] as const;
    const text = () => Array.from({ length: Math.floor(random() * 4) }, () => pick(pieces)).join('');
    const numbers = [0, -1.5, 1e21, 1e308, 5e-324, Number.MAX_SAFE_INTEGER] as const;
    const value = (depth: number): unknown => {
      const kind = depth > 70 ? 0 : Math.floor(random() * 6);
      if (kind === 0) return text();
      if (kind === 1) return pick(numbers);
      if (kind === 2) return pick([true, false, null]);
      if (kind === 3) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 3) }, () => [text(), value(depth + 1)]));
    };
    let plain = 0;
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      // Numbers that overflow can't come out of JSON.stringify: some are written into the text instead.
      let body = JSON.stringify(value(0));
      if (random() < 0.1) body = body.replace(/(?<=[:[,])\d+(\.\d+)?(e\+?\d+)?(?=[,\]}])/, pick(['1e309', '-2E400', '9'.repeat(320)]));
      const problem = jsonBodyProblem(JSON.parse(body), 8);
      if (plainJsonText(body, 8)) {
        plain++;
        expect(problem, body).toBeUndefined();
      } else if (problem) refused++;
    }
    // Both outcomes were reached, not just one.
    expect(plain).toBeGreaterThan(1_000);
    expect(refused).toBeGreaterThan(1_000);
  });
});
