/**
 * The outbox of R2 deletions and moves (table `file_deletions`). Statements that delete outputs or
 * batches record the prefixes they emptied with `recordFileDeletions`, and the one that moves
 * outputs to another batch the prefixes their files leave with `recordFileMoves`, as a CTE of the
 * same statement: the rows commit with the change or not at all, so none is lost between the
 * database and the queue. The maintenance job (maintenance/file-deletions.ts) deletes (or copies,
 * then deletes) the objects, then the rows — in the order recorded wherever their prefixes overlap.
 */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';

export interface FileDeletion {
  id: number;
  /** `<project>/<commit>/<batch>/[<output>/]`. */
  prefix: string;
  /** fnmatch pattern of the paths to delete inside the output; null: all of them. */
  pattern: string | null;
  /** A move: where the objects under `prefix` go (same paths under it). Null: a deletion. */
  moveTo: string | null;
  /** When it was recorded (ms since the epoch, the database's clock). */
  requestedAt: number;
}

/**
 * A data-modifying CTE body recording the prefixes `prefixes` selects (a query with one text column)
 * and answering their ids: `WITH …, outbox AS (${recordFileDeletions(sql`SELECT …`)}) SELECT …`.
 */
export const recordFileDeletions = (prefixes: SQL, pattern: string | null = null) =>
  sql`INSERT INTO file_deletions (prefix, pattern) SELECT prefix, ${pattern}::text FROM (${prefixes}) AS recorded (prefix) RETURNING id`;

/** Like `recordFileDeletions`, for moves: `moves` selects (from prefix, to prefix) pairs. */
export const recordFileMoves = (moves: SQL) =>
  sql`INSERT INTO file_deletions (prefix, move_to) SELECT prefix, move_to FROM (${moves}) AS recorded (prefix, move_to) RETURNING id`;

/** The ids the `outbox` CTE recorded, as a column of the statement's answer. */
export const recordedIds = sql`(SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM outbox)`;

/** The row, while it is pending (undefined: an earlier delivery or a drain has done it). */
export async function pendingFileDeletion(db: Db, id: number): Promise<FileDeletion | undefined> {
  const [row] = await queryRows<FileDeletion>(
    db,
    sql`SELECT id, prefix, pattern, move_to AS "moveTo", (extract(epoch FROM requested_at) * 1000)::float8 AS "requestedAt"
        FROM file_deletions WHERE id = ${id}`,
  );
  return row;
}

/** Deletions recorded before `before` and still pending, oldest first: the ones whose message was lost. */
export async function overdueFileDeletions(db: Db, before: Date, limit: number): Promise<number[]> {
  const rows = await queryRows<{ id: number }>(db, sql`SELECT id FROM file_deletions WHERE requested_at < ${before.toISOString()} ORDER BY requested_at, id LIMIT ${limit}`);
  return rows.map((r) => r.id);
}

/** Whether two prefixes (or a prefix and NULL: no) hold common keys. */
const overlap = (a: SQL, b: SQL) => sql`(starts_with(${a}, ${b}) OR starts_with(${b}, ${a}))`;
/** Whether a row touches keys the row `other` touches. */
const touches = (prefix: SQL, moveTo: SQL, other: string) =>
  sql`(${overlap(prefix, sql.raw(`${other}.prefix`))} OR ${overlap(prefix, sql.raw(`${other}.move_to`))}
       OR ${overlap(moveTo, sql.raw(`${other}.prefix`))} OR ${overlap(moveTo, sql.raw(`${other}.move_to`))})`;

/** Rows that must keep their order: both touch the same keys, and one of them moves files. */
const ordered = (prefix: SQL, moveTo: SQL, other: string) =>
  sql`((${moveTo}) IS NOT NULL OR ${sql.raw(other)}.move_to IS NOT NULL) AND ${touches(prefix, moveTo, other)}`;

/**
 * Whether a row recorded earlier and still pending must go first. A deletion of the batch outputs
 * left must not delete their files before they are copied, nor a move carry off files a deletion
 * recorded before it meant to delete. (Deletions alone commute.)
 */
export async function waitsForEarlier(db: Db, row: FileDeletion): Promise<boolean> {
  const [found] = await queryRows<{ waits: boolean }>(
    db,
    sql`SELECT EXISTS (SELECT 1 FROM file_deletions e WHERE e.id < ${row.id} AND ${ordered(sql`${row.prefix}::text`, sql`${row.moveTo}::text`, 'e')}) AS waits`,
  );
  return found!.waits;
}

/**
 * Done: its objects are gone (or moved). Forgets the row and answers the later rows that may have
 * waited for it, to queue again. After a move, later deletions of where the files went count from
 * now: the copies (uploaded during the move) stand for files that were there when they were asked.
 */
export async function forgetFileDeletion(db: Db, id: number): Promise<number[]> {
  const [row] = await queryRows<{ ids: number[] }>(
    db,
    sql`WITH done AS (DELETE FROM file_deletions WHERE id = ${id} RETURNING prefix, move_to),
        restarted AS (UPDATE file_deletions f SET requested_at = greatest(f.requested_at, now()) FROM done
                      WHERE f.id > ${id} AND f.move_to IS NULL AND ${overlap(sql`f.prefix`, sql`done.move_to`)})
        SELECT coalesce(array_agg(f.id ORDER BY f.id), '{}') AS ids FROM file_deletions f, done
        WHERE f.id > ${id} AND ${ordered(sql`f.prefix`, sql`f.move_to`, 'done')}`,
  );
  return row?.ids ?? [];
}
