/**
 * The run-request queue's consumer: dispatches requests as GitLab pipelines on their commit, and
 * cancels the pipelines of cancelled requests. Idempotent: a request is dispatched only while
 * `queued`; a redelivered cancel cancels an already cancelled pipeline, which changes nothing.
 *
 * Failures: GitLab's 429, 5xx and network errors are retried with backoff by the queue
 * (`RetryLater`); after the last retry the request fails with the reason. A refusal (4xx: unknown
 * ref or project, a token without the `api` scope, a CI config error) fails it at once with
 * GitLab's reason. (At-least-once delivery: should recording a created pipeline fail, a redelivery
 * may create a second one; its uploads land on the same outputs.)
 */
import type { Db } from '../db/client';
import { commitBatchesFiles } from './commit-batches-files';
import {
  dispatchContext,
  pipelineTarget,
  pipelineVariables,
  redoRun,
  redoRuns,
  tuningRun,
  type BatchRun,
  type DispatchContext,
  type TuningParameters,
} from '../domain/run-requests/pipeline-variables';
import { failRunRequest, readRunRequest, recordCancellationFailure, recordPipeline } from '../domain/run-requests/run-requests';
import { projectRepository } from '../domain/storage-locations';
import { BatchesFileError } from '../domain/test-groups/batches-files';
import { storedGroupFiles } from '../domain/test-groups/test-groups';
import { RetryLater, type JobHandler } from '../jobs/job-queue';
import { GitLabError, GitLabNotFound, type GitLabClient } from './client';

export type RunRequestJob = { type: 'dispatch'; runRequestId: number } | { type: 'cancel-pipeline'; runRequestId: number };

export const RUN_REQUESTS_QUEUE = 'qaboard-run-requests';
/** As `max_retries` of the queue's consumer in wrangler.jsonc; after the last one the request fails. */
export const RUN_REQUESTS_MAX_RETRIES = 5;

const everyProject = () => true;

/** The batch a request runs, built from the database (and, for tuning, the commit's batches files on GitLab). */
async function batchRun(db: Db, gitlab: GitLabClient, context: DispatchContext): Promise<BatchRun | undefined> {
  const { request, projectData, commit } = context;
  if (request.kind === 'save-artifacts') return undefined;
  if (request.kind !== 'tuning') return redoRun(request, await redoRuns(db, request));
  const parameters = request.parameters as unknown as TuningParameters;
  const { idGit, idRelative } = projectRepository({ id: request.project_id, data: projectData });
  const config = (commit.data.qatools_config ?? projectData.qatools_config ?? {}) as Record<string, unknown>;
  const fromCommit = await commitBatchesFiles(gitlab, { idGit, idRelative, projectId: request.project_id }, config, request.commit);
  return tuningRun(parameters, [...fromCommit.files, ...(await storedGroupFiles(db, request.project_id, parameters.groups))]);
}

async function dispatch(db: Db, gitlab: GitLabClient, runRequestId: number): Promise<void> {
  const request = await readRunRequest(db, runRequestId, everyProject).catch(() => undefined);
  if (request?.status !== 'queued') return;
  const context = await dispatchContext(db, request);
  const { gitlabProject, ref } = pipelineTarget(context);
  const pipeline = await gitlab.createPipeline(gitlabProject, ref, pipelineVariables(context, await batchRun(db, gitlab, context)));
  // Cancelled while we were creating it: cancel it too.
  if (!(await recordPipeline(db, request.id, pipeline))) await gitlab.cancelPipeline(gitlabProject, pipeline.id);
}

async function cancelPipeline(db: Db, gitlab: GitLabClient, runRequestId: number): Promise<void> {
  const request = await readRunRequest(db, runRequestId, everyProject).catch(() => undefined);
  if (!request?.pipeline_id) return;
  const { gitlabProject } = pipelineTarget(await dispatchContext(db, request));
  await gitlab.cancelPipeline(gitlabProject, request.pipeline_id);
}

/** GitLab's refusal, or batches files that can't make a pipeline: retrying won't help. */
const isPermanent = (error: unknown) => error instanceof GitLabError || error instanceof GitLabNotFound || error instanceof BatchesFileError;

export function runRequestJobHandler(db: Db, gitlab: GitLabClient, maxRetries = RUN_REQUESTS_MAX_RETRIES): JobHandler<RunRequestJob> {
  return async (job, attempts) => {
    const giveUp = job.type === 'dispatch' ? failRunRequest : recordCancellationFailure;
    try {
      if (job.type === 'dispatch') await dispatch(db, gitlab, job.runRequestId);
      else await cancelPipeline(db, gitlab, job.runRequestId);
    } catch (error) {
      const lastAttempt = attempts > maxRetries;
      if (error instanceof RetryLater && !lastAttempt) throw error;
      if (!(error instanceof RetryLater) && !isPermanent(error)) throw error;
      const reason = lastAttempt && error instanceof RetryLater ? `${error.message} (gave up after ${attempts} attempts)` : (error as Error).message;
      await giveUp(db, job.runRequestId, reason);
      console.warn(JSON.stringify({ level: 'warn', job: job.type, run_request: job.runRequestId, gave_up: reason }));
    }
  };
}
