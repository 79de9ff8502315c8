/**
 * One verdict job per burst of uploads. When a batch completes (no pending output left), it is
 * marked as having a verdict requested, unless one is already waiting: the job computes
 * the verdict from the database when it runs, so it covers every upload written before it starts.
 * The job clears the mark as it starts; a later upload then requests the next verdict. A mark older
 * than `STALE_REQUEST` (its message lost) no longer holds requests back. Atomic across processes:
 * of two uploads finishing a batch together, one marks it.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';

const STALE_REQUEST = sql.raw(`interval '15 minutes'`);

/** Whether a project wants its verdicts posted to GitLab (qaboard.yaml `regressions: {gitlab: true}`), from its `data`. */
export const wantsVerdict = (projectData: SQL): SQL => sql`(${projectData} #> '{qatools_config,regressions,gitlab}') = 'true'::jsonb`;

/**
 * Reaction to completed batches (domain/batches/batch-completion.ts): of those whose project wants
 * verdicts posted, marks the ones with no verdict waiting yet; their ids are the jobs to queue.
 */
export async function claimVerdictRequests(db: Db, batchIds: number[]): Promise<number[]> {
  const claimed = await queryRows<{ id: number }>(
    db,
    sql`UPDATE batches b SET verdict_requested_at = now()
    FROM ci_commits c JOIN projects p ON p.id = c.project_id
    WHERE c.id = b.ci_commit_id AND b.id = ANY(${intArrayLiteral(batchIds)}::int[]) AND ${wantsVerdict(sql`p.data`)}
      AND (b.verdict_requested_at IS NULL OR b.verdict_requested_at < now() - ${STALE_REQUEST})
      AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.batch_id = b.id AND o.is_pending)
    RETURNING b.id`,
  );
  return claimed.map((b) => b.id);
}

/** The verdict job starts (or could not be queued): uploads from now on may request another. */
export async function releaseVerdictRequest(db: Db, batchId: number): Promise<void> {
  await db.execute(sql`UPDATE batches SET verdict_requested_at = NULL WHERE id = ${batchId} AND verdict_requested_at IS NOT NULL`);
}
