import { sql } from 'drizzle-orm';

/**
 * SQL: the `updated_at` a write gives an output or a test input: now, and always later than the
 * row's. The fingerprints that keep aggregates and outputs' texts (read/) see a change only if it
 * moves `updated_at`, and now() is the transaction's start — in whole milliseconds on PGlite, where
 * two writes in a row can share it. `column` names the row's own `updated_at` where a FROM list
 * could make it ambiguous. A migration or hand-run SQL changing these rows must move it too, or
 * servers keep showing what they read before.
 */
export const nextUpdatedAt = (column = 'updated_at') => sql.raw(`greatest(now(), ${column} + interval '1 microsecond')`);

/**
 * SQL (numeric; 0 over no rows): the sum of `column` (an `updated_at`) over a set of rows, the part of
 * a fingerprint that every write to one of them moves (see `nextUpdatedAt`).
 */
export const updatedAtSum = (column: string) => `COALESCE(sum(extract(epoch FROM ${column})), 0)`;
