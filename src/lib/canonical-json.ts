/**
 * JSON text that is the same for values Postgres' jsonb holds as equal: object keys sorted (jsonb
 * forgets their order). For identities computed before writing — `{"a":1,"b":2}` and
 * `{"b":2,"a":1}` are one jsonb value, so one row of a unique index over it.
 */
export function canonicalJson(value: unknown): string {
  // Sorted first, then stringified without a replacer: V8 serialises several times faster without
  // one, and an upload's identity is computed for each upload written.
  return JSON.stringify(withSortedKeys(value));
}

/** `value` with the keys of every object in it sorted; `value` itself when they already are. */
function withSortedKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, i) => {
      const sorted = withSortedKeys(item);
      if (sorted !== item) (copy ??= [...value])[i] = sorted;
    });
    return copy ?? value;
  }
  const keys = Object.keys(value);
  let changed = keys.some((key, i) => i > 0 && keys[i - 1]! > key);
  const entries = keys.sort().map((key) => {
    const item = (value as Record<string, unknown>)[key];
    const sorted = withSortedKeys(item);
    if (sorted !== item) changed = true;
    return [key, sorted] as const;
  });
  return changed ? Object.fromEntries(entries) : value;
}
