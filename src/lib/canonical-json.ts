/**
 * JSON text that is the same for values Postgres' jsonb holds as equal: object keys sorted (jsonb
 * forgets their order). For identities computed before writing — `{"a":1,"b":2}` and
 * `{"b":2,"a":1}` are one jsonb value, so one row of a unique index over it.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, node: unknown) =>
    node !== null && typeof node === 'object' && !Array.isArray(node)
      ? Object.fromEntries(Object.entries(node).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : node,
  );
}
