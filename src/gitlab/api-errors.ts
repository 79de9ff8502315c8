/**
 * GitLab failures met while answering a request (not in a queue job): what the client is told.
 * GitLab's own refusals keep their meaning; its outages are ours to report as a bad gateway.
 */
import { RetryLater } from '../jobs/job-queue';
import { ApiError } from '../lib/problem';
import { GitLabError, GitLabNotFound } from './client';

export function gitlabFailure(error: unknown): Error {
  if (error instanceof ApiError) return error;
  if (error instanceof GitLabNotFound) return new ApiError(404, error.message);
  if (error instanceof GitLabError && (error.status === 401 || error.status === 403)) {
    return new ApiError(403, `GitLab refused the request with your rights (${error.status}).`);
  }
  if (error instanceof RetryLater) return new ApiError(502, `GitLab is unavailable (${error.message}); retry later.`);
  if (error instanceof GitLabError) return new ApiError(502, error.message);
  return error as Error;
}
