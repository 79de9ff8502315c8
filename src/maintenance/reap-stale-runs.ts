import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client';
import { completeBatches } from '../domain/batches/batch-completion';
import { failRunsSet } from '../domain/outputs/fail-runs';
import { batchesOfRunningRequests, failSilentRunRequests } from '../domain/run-requests/run-requests';

/**
 * Marks failed the outputs stuck pending or running (a CI job that died without reporting):
 * no update for longer than `staleAfterHours`. The reason is kept in `data.failure_reason`.
 * Their batches may be complete now; so may the batches of running run requests, should an upload's
 * completion check have been missed. Run requests that reported nothing for as long fail.
 */
export async function reapStaleRuns(db: Db, now: Date, staleAfterHours: number): Promise<number> {
  const cutoff = new Date(now.getTime() - staleAfterHours * 3_600_000).toISOString();
  const reaped = await queryRows<{ batch_id: number }>(
    db,
    sql`UPDATE outputs
        SET ${failRunsSet(`no update for more than ${staleAfterHours} hours: marked failed by the stale-run reaper`)}
        WHERE (is_pending OR is_running) AND updated_at < ${cutoff}
        RETURNING batch_id`,
  );
  await completeBatches(db, [...reaped.map((r) => r.batch_id), ...(await batchesOfRunningRequests(db))]);
  const silentRequests = await failSilentRunRequests(db, now, staleAfterHours);
  console.log(`reaper: marked ${reaped.length} stale runs and ${silentRequests} silent run requests failed`);
  return reaped.length;
}
