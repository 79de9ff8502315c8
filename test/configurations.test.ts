/** qatools' legacy `:`-separated configuration strings, parsed as qatools does — in linear time. */
import { describe, expect, test } from 'vitest';
import { deserializeConfiguration } from '../src/domain/ingest/configurations';

describe('deserializeConfiguration', () => {
  test.each([
    ['-', []],
    ['base', ['base']],
    ['base:{"gain": 2}:fast', ['base', { gain: 2 }, 'fast']],
    ['{"path": "C:/data"}:x', [{ path: 'C:/data' }, 'x']],
    ['{"a": {"b": [1, {"c": 2}]}}', [{ a: { b: [1, { c: 2 }] } }]],
    ['{"s": "}"}:d', [{ s: '}' }, 'd']],
    ['{not json}:y', ['{not json}', 'y']],
    ['{"open": 1', ['{"open": 1']],
    ['a::b', ['a', '', 'b']],
  ])('%s', (configuration, expected) => {
    expect(deserializeConfiguration(configuration)).toEqual(expected);
  });

  test('a hostile 64 KB string is parsed in linear time (it stalled the server for ~27 s)', () => {
    const started = performance.now();
    const configurations = deserializeConfiguration('{:'.repeat(32_000));
    expect(performance.now() - started).toBeLessThan(500);
    expect(configurations).toHaveLength(1);
    const mixed = deserializeConfiguration('{"a":"x:y"}:'.repeat(5_000));
    expect(mixed.filter((c) => typeof c === 'object')).toHaveLength(5_000);
  });
});
