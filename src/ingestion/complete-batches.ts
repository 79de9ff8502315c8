import type { Db } from '../db/client';
import { releaseVerdictRequest } from '../domain/batches/verdict-requests';
import { completeBatches } from '../domain/batches/batch-completion';
import { requestVerdict, type VerdictJob } from '../gitlab/verdict-job';
import type { JobQueue } from '../jobs/job-queue';
import { failureMessage } from '../lib/database-failure';
import type { Logger } from '../lib/logger';

/** What the ingestion paths call once uploads are committed, with the batches they may have completed. */
export type CompleteWrittenBatches = (db: Db, batchIds: (number | undefined)[]) => Promise<void>;

/**
 * Once uploads are committed, the batches they may have completed (their `completionCheck`) go
 * through the batch-completion seam (domain/batches/batch-completion.ts), and the jobs it asks for
 * are queued: a completed batch's regression verdict, for GitLab. A failure here is not the
 * uploads': it is logged (and the hourly clean-up sweeps batches whose run requests still await).
 */
export function batchCompleter(verdictQueue: JobQueue<VerdictJob> | undefined, logger: Logger): CompleteWrittenBatches {
  return async (db, batchIds) => {
    const ids = batchIds.filter((id): id is number => id !== undefined);
    if (!ids.length) return;
    try {
      const { followUps } = await completeBatches(db, ids);
      for (const batchId of followUps.verdicts) {
        try {
          if (!verdictQueue) throw new Error('no verdict queue (the GitLab integration is not configured)');
          await requestVerdict(verdictQueue, { batchId });
        } catch (error) {
          logger.log('error', { verdict_not_queued: String(error), batch: batchId });
          await releaseVerdictRequest(db, batchId).catch(() => {});
        }
      }
    } catch (error) {
      logger.log('warn', { batch_completion_not_checked: ids, error: failureMessage(error) });
    }
  };
}
