/**
 * The GitLab CI jobs the web app shows beside a commit (qaboard.yaml `integrations:` entries with
 * `gitlabCI: {job_name}`), looked up as the original did: by id when the app knows it, else by
 * name in the commit's latest pipeline — the last job of that name for its status, the first to
 * play it. Calls go through a client holding the signed-in user's token: GitLab decides.
 */
import { ApiError } from '../lib/problem';
import type { GitLabClient, GitLabJobInfo } from './client';

export interface JobQuery {
  /** The GitLab project (path or numeric id). */
  project: string;
  sha: string;
  jobName?: string;
  jobId?: number;
}

async function jobNamed(gitlab: GitLabClient, { project, sha, jobName }: JobQuery, pick: 'first' | 'last'): Promise<GitLabJobInfo> {
  const pipeline = await gitlab.lastPipelineOf(project, sha);
  const jobs = pipeline === undefined ? [] : await gitlab.pipelineJobs(project, pipeline);
  const named = jobs.filter((job) => job.name === jobName);
  const job = pick === 'first' ? named[0] : named.at(-1);
  if (!job) throw new ApiError(404, `Only these jobs are available: ${JSON.stringify(jobs.map((j) => j.name))}`);
  return job;
}

export const jobStatus = (gitlab: GitLabClient, query: JobQuery) =>
  query.jobId !== undefined ? gitlab.job(query.project, query.jobId) : jobNamed(gitlab, query, 'last');

export async function playJob(gitlab: GitLabClient, query: JobQuery): Promise<GitLabJobInfo> {
  const job = await jobNamed(gitlab, query, 'first');
  return gitlab.playJob(query.project, job.id);
}
