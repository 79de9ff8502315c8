import type { Db } from '../db/client';
import { claimVerdictRequest, releaseVerdictRequest } from '../domain/batches/verdict-requests';
import type { OutputUpload } from '../domain/ingest/envelope';
import { outputRun } from '../domain/ingest/output-run';
import { requestVerdict, type VerdictJob } from '../gitlab/verdict-job';
import type { JobQueue } from '../jobs/job-queue';
import type { Logger } from '../lib/logger';
import type { SpoolWriteHooks } from './spooled-uploads';

/**
 * THE VERDICT TRIGGER (issue 14) — to be unified with the batch-completion seam of issue 10.
 * After an output upload is written, directly or from the spool: when its batch has no pending
 * output left (`qa batch` registers every output as pending before running them, so this is the
 * batch's last one finishing), the batch's regression verdict is queued for GitLab — once per burst
 * of uploads (domain/batches/verdict-requests.ts). The job decides whether the project wants it
 * (qaboard.yaml `regressions.gitlab`). The upload succeeds whether or not this works.
 */
export function verdictHook(verdictQueue: JobQueue<VerdictJob> | undefined, db: Db, logger: Logger): Pick<SpoolWriteHooks, 'outputWritten'> {
  return {
    async outputWritten(upload: OutputUpload, hexsha: string) {
      const run = outputRun(upload);
      if (!verdictQueue || run.isPending) return;
      let batchId: number | undefined;
      try {
        batchId = await claimVerdictRequest(db, { projectId: upload.project, hexsha, label: run.batchLabel });
        if (batchId !== undefined) await requestVerdict(verdictQueue, { batchId });
      } catch (error) {
        logger.log('error', { verdict_not_queued: String(error), project: upload.project, hexsha, batch: run.batchLabel });
        if (batchId !== undefined) await releaseVerdictRequest(db, batchId).catch(() => {});
      }
    },
  };
}
