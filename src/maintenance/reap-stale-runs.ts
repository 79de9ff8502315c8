import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client';

/**
 * Marks failed the outputs stuck pending or running (a CI job that died without reporting):
 * no update for longer than `staleAfterHours`. The reason is kept in `data.failure_reason`.
 */
export async function reapStaleRuns(db: Db, now: Date, staleAfterHours: number): Promise<number> {
  const cutoff = new Date(now.getTime() - staleAfterHours * 3_600_000).toISOString();
  const reaped = await queryRows<{ id: number }>(
    db,
    sql`UPDATE outputs
        SET is_failed = true, is_pending = false, is_running = false, updated_at = now(),
            data = data || jsonb_build_object('failure_reason', ${`no update for more than ${staleAfterHours} hours: marked failed by the stale-run reaper`}::text)
        WHERE (is_pending OR is_running) AND updated_at < ${cutoff}
        RETURNING id`,
  );
  console.log(`reaper: marked ${reaped.length} stale runs failed`);
  return reaped.length;
}
