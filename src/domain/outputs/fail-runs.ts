import { sql, type SQL } from 'drizzle-orm';
import { nextUpdatedAt } from '../updated-at';

/**
 * The SET clause that ends unfinished runs as failed, keeping why in `data.failure_reason` (shown
 * with the output's data): a stopped batch, a run the stale-run reaper gave up on. Both then tell
 * the batch-completion seam, which needs `RETURNING batch_id`.
 */
export const failRunsSet = (reason: string): SQL =>
  sql`is_failed = true, is_pending = false, is_running = false, updated_at = ${nextUpdatedAt()},
      data = data || jsonb_build_object('failure_reason', ${reason}::text)`;
