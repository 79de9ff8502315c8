/**
 * Column lists for raw SQL reads, derived from the Drizzle tables so that a row type
 * (`Pick<typeof table.$inferSelect, …>`) and the SQL that selects it come from one list of
 * properties. Timestamps are formatted by Postgres as ISO 8601 in UTC with microseconds (as the
 * original's `isoformat()`), whatever the driver or the session time zone.
 */
import { getTableColumns, type Table } from 'drizzle-orm';

/** SQL text formatting a timestamptz expression as ISO 8601 UTC. */
export const isoUtc = (expression: string) => `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')`;

/** `alias."column" AS "property", …` for `properties` of `table` (timestamps as ISO 8601 UTC). */
export function columnsOf<T extends Table>(alias: string, table: T, properties: readonly (keyof T['$inferSelect'] & string)[]): string {
  const columns = getTableColumns(table) as Record<string, { name: string; getSQLType(): string }>;
  return properties
    .map((property) => {
      const column = columns[property]!;
      const reference = `${alias}."${column.name}"`;
      return `${column.getSQLType().startsWith('timestamp') ? isoUtc(reference) : reference} AS "${property}"`;
    })
    .join(', ');
}
