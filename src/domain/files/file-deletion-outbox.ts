/**
 * The outbox of R2 deletions (table `file_deletions`). Statements that delete outputs or batches
 * record the prefixes they emptied with `recordFileDeletions`, as a CTE of the same statement: the
 * rows commit with the deletion or not at all, so no deletion is lost between the database and the
 * queue. The maintenance job (maintenance/file-deletions.ts) deletes the objects, then the rows.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';

export interface FileDeletion {
  id: number;
  /** `<project>/<commit>/<batch>/[<output>/]`. */
  prefix: string;
  /** fnmatch pattern of the paths to delete inside the output; null: all of them. */
  pattern: string | null;
  /** When it was recorded (ms since the epoch, the database's clock). */
  requestedAt: number;
}

/**
 * A data-modifying CTE body recording the prefixes `prefixes` selects (a query with one text column)
 * and answering their ids: `WITH …, outbox AS (${recordFileDeletions(sql`SELECT …`)}) SELECT …`.
 */
export const recordFileDeletions = (prefixes: SQL, pattern: string | null = null) =>
  sql`INSERT INTO file_deletions (prefix, pattern) SELECT prefix, ${pattern}::text FROM (${prefixes}) AS recorded (prefix) RETURNING id`;

/** The ids the `outbox` CTE recorded, as a column of the statement's answer. */
export const recordedIds = sql`(SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM outbox)`;

/** The given deletions that are still pending (a drain may have done the others). */
export async function pendingFileDeletions(db: Db, ids: number[]): Promise<FileDeletion[]> {
  return queryRows<FileDeletion>(
    db,
    sql`SELECT id, prefix, pattern, (extract(epoch FROM requested_at) * 1000)::float8 AS "requestedAt"
        FROM file_deletions WHERE id = ANY(${intArrayLiteral(ids)}::int[]) ORDER BY id`,
  );
}

/** Deletions recorded before `before` and still pending, oldest first: the ones whose message was lost. */
export async function overdueFileDeletions(db: Db, before: Date, limit: number): Promise<number[]> {
  const rows = await queryRows<{ id: number }>(db, sql`SELECT id FROM file_deletions WHERE requested_at < ${before.toISOString()} ORDER BY requested_at, id LIMIT ${limit}`);
  return rows.map((r) => r.id);
}

/** Done: its objects are gone. */
export async function forgetFileDeletion(db: Db, id: number): Promise<void> {
  await db.execute(sql`DELETE FROM file_deletions WHERE id = ${id}`);
}
