/** Work the GitLab integration does in the background, off the webhook and upload paths. */
import type { Db } from '../db/client';
import type { JobHandler } from '../jobs/job-queue';
import { backfillCommit, type BackfillJob } from './backfill-commit';
import { GitLabError, GitLabNotFound, type GitLabClient } from './client';
import { processPush, type PushJob } from './process-push';

export type GitLabJob = PushJob | BackfillJob;

export const GITLAB_QUEUE = 'qaboard-gitlab';
/** As `max_retries` of the queue's consumer in wrangler.jsonc; then the dead-letter queue. */
export const GITLAB_MAX_RETRIES = 5;

/**
 * Runs one job. A commit or project GitLab doesn't know, or a GitLab answer we can't use, will not
 * get better by retrying: it is logged and the message acknowledged. Transient failures propagate
 * (`RetryLater`) so the queue retries with backoff, then dead-letters.
 */
export function gitlabJobHandler(db: Db, gitlab: GitLabClient): JobHandler<GitLabJob> {
  return async (job) => {
    try {
      if (job.type === 'push') await processPush(db, gitlab, job);
      else await backfillCommit(db, gitlab, job);
    } catch (error) {
      if (!(error instanceof GitLabNotFound || error instanceof GitLabError)) throw error;
      console.warn(JSON.stringify({ level: 'warn', job: job.type, gave_up: error.message, ...jobSubject(job) }));
    }
  };
}

const jobSubject = (job: GitLabJob) =>
  job.type === 'push'
    ? { project: job.project.path_with_namespace, sha: job.checkoutSha, event: job.eventId }
    : { project: job.projectId, sha: job.hexsha };
