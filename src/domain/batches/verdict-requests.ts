/**
 * One verdict job per burst of uploads. When an upload leaves its batch without pending outputs,
 * the batch is marked as having a verdict requested, unless one is already waiting: the job computes
 * the verdict from the database when it runs, so it covers every upload written before it starts.
 * The job clears the mark as it starts; a later upload then requests the next verdict. A mark older
 * than `STALE_REQUEST` (its message lost) no longer holds requests back. Atomic across processes:
 * of two uploads finishing a batch together, one marks it.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';

const STALE_REQUEST = sql.raw(`interval '15 minutes'`);

export interface BatchKey {
  projectId: string;
  hexsha: string;
  label: string;
}

/** The batch's id when it has no pending output and no verdict waiting: it is now marked as waiting for one. */
export async function claimVerdictRequest(db: Db, { projectId, hexsha, label }: BatchKey): Promise<number | undefined> {
  const [batch] = await queryRows<{ id: number }>(
    db,
    sql`UPDATE batches b SET verdict_requested_at = now()
    FROM ci_commits c
    WHERE c.id = b.ci_commit_id AND c.project_id = ${projectId} AND c.hexsha = ${hexsha} AND b.label = ${label}
      AND (b.verdict_requested_at IS NULL OR b.verdict_requested_at < now() - ${STALE_REQUEST})
      AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.batch_id = b.id AND o.is_pending)
    RETURNING b.id`,
  );
  return batch?.id;
}

/** The verdict job starts (or could not be queued): uploads from now on may request another. */
export async function releaseVerdictRequest(db: Db, batchId: number): Promise<void> {
  await db.execute(sql`UPDATE batches SET verdict_requested_at = NULL WHERE id = ${batchId} AND verdict_requested_at IS NOT NULL`);
}
