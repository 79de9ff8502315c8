import { cookieValue, SESSION_COOKIE } from '../../auth/credentials';
import { gitlabAsUser } from '../../auth/gitlab-sign-in';
import { requireProjectAccess } from '../../auth/principal';
import { gitlabTokensOf } from '../../auth/sessions';
import { repositoryPathOf } from '../../domain/read/projects';
import { gitlabFailure } from '../../gitlab/api-errors';
import { jobStatus, playJob, type JobQuery } from '../../gitlab/ci-jobs';
import { proxyGitLabImage } from '../../gitlab/image-proxy';
import { ApiError } from '../../lib/problem';
import type { AppContext, AppRouteHandler } from '../../lib/types';
import type { GitLabJob, GitLabPlayJob, GitLabProxy } from './gitlab.routes';

export const gitlabProxy: AppRouteHandler<GitLabProxy> = async (c) => {
  const image = await proxyGitLabImage(c.var.config.gitlabProxy, c.req.valid('query').url);
  return c.body(image.body as Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>, 200, image.headers);
};

/** The GitLab API as the signed-in user, and the job the web app asks about. */
async function asSignedInUser(c: AppContext, body: { project_id: string | number; commit_id: string; job_name?: string; job_id?: number }) {
  // A QA-Board project (path) must be one the caller may act on; a numeric GitLab id is left to GitLab.
  if (typeof body.project_id === 'string') requireProjectAccess(c.var.caller, body.project_id);
  const secret = cookieValue(c.req.header('cookie'), SESSION_COOKIE);
  const tokens = c.var.config.gitlabSignIn && secret ? await gitlabTokensOf(c.var, secret) : undefined;
  if (!tokens) throw new ApiError(403, 'Sign in with GitLab: jobs are read and played with your GitLab rights.');
  const project = typeof body.project_id === 'string' ? await repositoryPathOf(c.var.db, body.project_id) : String(body.project_id);
  const query: JobQuery = { project, sha: body.commit_id, jobName: body.job_name, jobId: body.job_id };
  return { gitlab: gitlabAsUser(c.var.config.gitlabSignIn!, tokens), query };
}

const withGitLab = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    throw gitlabFailure(error);
  }
};

export const gitlabJob: AppRouteHandler<GitLabJob> = async (c) => {
  const { gitlab, query } = await asSignedInUser(c, c.req.valid('json'));
  return c.json(await withGitLab(() => jobStatus(gitlab, query)), 200);
};

export const gitlabPlayJob: AppRouteHandler<GitLabPlayJob> = async (c) => {
  const { gitlab, query } = await asSignedInUser(c, c.req.valid('json'));
  return c.json(await withGitLab(() => playJob(gitlab, query)), 200);
};
