import { needsBackfill } from '../gitlab/backfill-commit';
import type { GitLabJob } from '../gitlab/jobs';
import type { JobQueue } from '../jobs/job-queue';
import type { Logger } from '../lib/logger';
import type { SpoolWriteHooks } from './spooled-uploads';

/**
 * After an upload is written, directly or from the spool: a commit it created without saying what
 * the commit is gets its metadata from GitLab, in the background. The upload succeeds whether or
 * not that can be queued.
 */
export function backfillHook(gitlabQueue: JobQueue<GitLabJob> | undefined, logger: Logger): Pick<SpoolWriteHooks, 'written'> {
  return {
    async written(upload, hexsha, commitCreated) {
      if (!commitCreated || !gitlabQueue || !needsBackfill(upload)) return;
      try {
        await gitlabQueue.send({ type: 'backfill-commit', projectId: upload.project, hexsha });
      } catch (error) {
        logger.log('error', { backfill_not_queued: String(error), project: upload.project, hexsha });
      }
    },
  };
}
