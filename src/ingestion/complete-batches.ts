import type { Db } from '../db/client';
import { completeBatches } from '../domain/batches/batch-completion';
import { databaseFailure } from '../lib/database-failure';
import { consoleLogger } from '../lib/logger';

/**
 * Once uploads are committed, the batches they may have completed (their `completionCheck`) go
 * through the batch-completion seam. A failure there is not the uploads': it is logged, and the
 * hourly clean-up sweeps the batches that still await completion.
 */
export async function completeWrittenBatches(db: Db, batchIds: (number | undefined)[]): Promise<void> {
  const ids = batchIds.filter((id): id is number => id !== undefined);
  if (!ids.length) return;
  try {
    await completeBatches(db, ids);
  } catch (error) {
    consoleLogger.log('warn', { batch_completion_not_checked: ids, error: databaseFailure(error)?.message ?? String(error) });
  }
}
