/** The Node entry's GitLab queues: the same consumers as the Worker's, in process. */
import type { Db } from '../db/client';
import { InProcessQueue, type InProcessQueueOptions } from '../jobs/in-process-queue';
import { GitLabClient, type GitLabClientOptions } from './client';
import { GITLAB_MAX_RETRIES, GITLAB_QUEUE, gitlabJobHandler, type GitLabJob } from './jobs';
import { RUN_REQUESTS_MAX_RETRIES, RUN_REQUESTS_QUEUE, runRequestJobHandler, type RunRequestJob } from './run-request-jobs';
import { VERDICT_MAX_RETRIES, VERDICT_QUEUE, verdictJobHandler, type VerdictJob, type VerdictSettings } from './verdict-job';

/** The Node entry's GitLab queue: the same consumer as the Worker's, in process. */
export function inProcessGitLabQueue(db: Db, gitlab: GitLabClientOptions, options: Partial<InProcessQueueOptions> = {}) {
  const queue = new InProcessQueue<GitLabJob>({ name: GITLAB_QUEUE, maxRetries: GITLAB_MAX_RETRIES, ...options });
  queue.consume(gitlabJobHandler(db, new GitLabClient(gitlab)));
  return queue;
}

/** The Node entry's run-request queue: the same consumer as the Worker's, in process. */
export function inProcessRunRequestQueue(db: Db, gitlab: GitLabClientOptions, options: Partial<InProcessQueueOptions> = {}) {
  const maxRetries = options.maxRetries ?? RUN_REQUESTS_MAX_RETRIES;
  const queue = new InProcessQueue<RunRequestJob>({ name: RUN_REQUESTS_QUEUE, ...options, maxRetries });
  queue.consume(runRequestJobHandler(db, new GitLabClient(gitlab), maxRetries));
  return queue;
}

/** The Node entry's verdict queue: the Worker's consumer, in process, one job at a time (as `max_concurrency: 1`). */
export function inProcessVerdictQueue(db: Db, gitlab: GitLabClientOptions, settings: VerdictSettings, options: Partial<InProcessQueueOptions> = {}) {
  const queue = new InProcessQueue<VerdictJob>({ name: VERDICT_QUEUE, maxRetries: VERDICT_MAX_RETRIES, serial: true, ...options });
  queue.consume(verdictJobHandler(db, new GitLabClient(gitlab), settings));
  return queue;
}
