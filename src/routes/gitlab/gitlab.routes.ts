import { createRoute, z } from '@hono/zod-openapi';
import { gitlabJobSchema } from '../../gitlab/client';
import { errorResponses, jsonBody, jsonContent, notFoundResponse, problemResponseSpec, tooLargeResponse } from '../schemas';

const tags = ['GitLab pass-through'];
const gatewayErrors = {
  502: problemResponseSpec('GitLab failed, answered something unusable, or redirected off its host.'),
  503: problemResponseSpec('The GitLab integration is not configured, or GitLab is unreachable.'),
};

export const gitlabProxy = createRoute({
  method: 'get',
  path: '/api/v1/gitlab/proxy',
  operationId: 'gitlabImageProxy',
  tags,
  summary: 'An image from the configured GitLab (avatars, badges)',
  description:
    'Only URLs on GITLAB_URL’s host (same scheme and port; redirects must stay there), only images, at most GITLAB_PROXY_MAX_BYTES, ' +
    'within GITLAB_TIMEOUT_MS. No credentials are sent to GitLab.',
  request: {
    query: z.object({
      url: z.string().min(1).max(4096).openapi({ example: 'https://gitlab.example.com/uploads/-/system/user/avatar/7/avatar.png' }),
    }),
  },
  responses: {
    200: {
      description: 'The image (cacheable by the browser for a day).',
      content: { 'image/*': { schema: { type: 'string' as const, format: 'binary' } } },
    },
    ...errorResponses,
    ...notFoundResponse,
    ...gatewayErrors,
    504: problemResponseSpec('GitLab did not answer in time.'),
  },
});

const jobRequest = z
  .looseObject({
    project_id: z.union([z.string().min(1).max(1024), z.number().int()]).openapi({ description: 'The QA-Board project (or, from `gitlabCI.project_id`, a GitLab project).' }),
    commit_id: z.string().regex(/^[0-9a-f]{7,64}$/, 'must be a commit hash'),
    job_name: z.string().min(1).max(255).optional(),
    job_id: z.number().int().positive().optional().openapi({ description: 'The job seen before: its status is read directly.' }),
    gitlab_host: z.string().max(2048).optional().openapi({ description: 'Ignored: jobs are read from GITLAB_URL only.' }),
  })
  .openapi('GitLabJobRequest', {
    description: 'What the web app posts: the commit, and its qaboard.yaml integration’s `gitlabCI` (`job_name`, maybe `project_id`).',
    example: { gitlab_host: 'https://gitlab.example.com', project_id: 'vision/isp-pipeline', commit_id: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', job_name: 'deploy-preview' },
  });

const jobResponse = jsonContent(
  gitlabJobSchema.openapi('GitLabCiJob', {
    description: 'GitLab’s job, as GitLab answered it.',
    example: { id: 8812, name: 'deploy-preview', status: 'manual', allow_failure: false, web_url: 'https://gitlab.example.com/vision/isp-pipeline/-/jobs/8812' },
  }),
  'The job.',
);
const jobErrors = {
  ...errorResponses,
  403: problemResponseSpec('Not signed in with GitLab, or GitLab refused the request with the user’s rights.'),
  404: problemResponseSpec('No such project, commit or job (the body lists the jobs of the pipeline).'),
  ...gatewayErrors,
  ...tooLargeResponse,
};

export const gitlabJob = createRoute({
  method: 'post',
  path: '/api/v1/gitlab/job',
  operationId: 'gitlabJobStatus',
  tags,
  summary: 'The status of a commit’s CI job, with the signed-in user’s GitLab rights',
  description:
    'A read (the `read` scope suffices), posted as the web app does. Needs a GitLab session: GitLab is asked with the user’s token, ' +
    'so they see what GitLab lets them see. By `job_id`, or the last job named `job_name` in the commit’s latest pipeline.',
  request: { body: jsonBody(jobRequest) },
  responses: { 200: jobResponse, ...jobErrors },
});

export const gitlabPlayJob = createRoute({
  method: 'post',
  path: '/api/v1/gitlab/job/play',
  operationId: 'gitlabPlayJob',
  tags,
  summary: 'Play a manual CI job of a commit, with the signed-in user’s GitLab rights',
  description: 'The first job named `job_name` in the commit’s latest pipeline is played (GitLab requires the Developer role).',
  request: { body: jsonBody(jobRequest) },
  responses: { 200: jobResponse, ...jobErrors },
});

/** Posted by the web app, but only reads: they need the `read` scope, not `write`. */
export const gitlabReadRoutes = [gitlabJob];

export type GitLabProxy = typeof gitlabProxy;
export type GitLabJob = typeof gitlabJob;
export type GitLabPlayJob = typeof gitlabPlayJob;
