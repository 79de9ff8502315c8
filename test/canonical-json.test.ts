/** canonicalJson: one text for values jsonb holds as equal, at any depth, without touching the value. */
import { describe, expect, test } from 'vitest';
import { canonicalJson } from '../src/lib/canonical-json';

describe('canonicalJson', () => {
  test('objects equal but for their keys’ order, at any depth (in arrays too), give one text', () => {
    const value = { b: 1, a: { d: [{ y: 1, x: [{ q: 1, p: 2 }] }, 'z'], c: null } };
    const reordered = { a: { c: null, d: [{ x: [{ p: 2, q: 1 }], y: 1 }, 'z'] }, b: 1 };
    expect(canonicalJson(value)).toBe(canonicalJson(reordered));
    expect(canonicalJson(value)).toBe('{"a":{"c":null,"d":[{"x":[{"p":2,"q":1}],"y":1},"z"]},"b":1}');
    expect(value).toEqual({ b: 1, a: { d: [{ y: 1, x: [{ q: 1, p: 2 }] }, 'z'], c: null } });
    expect(Object.keys(value)).toEqual(['b', 'a']);
  });

  test('different values give different texts; an array keeps its order', () => {
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
    expect(canonicalJson({ a: { b: 1 } })).not.toBe(canonicalJson({ a: { b: '1' } }));
    expect(canonicalJson(['gain', { iso: 800, gain: 1 }])).toBe('["gain",{"gain":1,"iso":800}]');
    expect(canonicalJson({ a: { y: 1, x: 2 } })).toBe('{"a":{"x":2,"y":1}}'); // sorted outside, not inside
  });
});
