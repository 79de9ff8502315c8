import { createRoute, z } from '@hono/zod-openapi';
import { batchLabel, branchName, platformName, projectId } from '../../domain/fields';
import { runRequestSchema } from '../../domain/run-requests/run-requests';
import { boundedText } from '../../lib/fields';
import { MAX_COMMITS_PER_PAGE, decodeCursor } from '../../domain/read/commits';
import {
  booleanQuery,
  commitSchema,
  errorResponses,
  jsonBody,
  jsonContent,
  metricsQuery,
  notFoundResponse,
  problemResponseSpec,
  statusOkSchema,
  timestampQuery,
} from '../schemas';

const tags = ['Commits'];

const commitQuery = {
  project: projectId(),
  batch: batchLabel().optional().openapi({ description: 'Only this batch label.' }),
  metrics: metricsQuery,
};

export const getCommitById = createRoute({
  method: 'get',
  path: '/api/v1/commit/{id}',
  operationId: 'getCommitById',
  tags,
  summary: 'A commit with its batches and outputs',
  description: '`id` may be a prefix of the hexsha. Unknown commits answer 404 (the qa CLI treats it as "no outputs yet").',
  request: {
    params: z.object({ id: boundedText(64).openapi({ example: '48b24841' }) }),
    query: z.object(commitQuery),
  },
  responses: { 200: jsonContent(commitSchema, 'The commit.'), ...errorResponses, ...notFoundResponse },
});

export const getCommit = createRoute({
  method: 'get',
  path: '/api/v1/commit',
  operationId: 'getCommit',
  tags,
  summary: 'A commit by query, or the latest successful commit of a branch',
  description:
    'With `commit`: as `/api/v1/commit/{id}`. Without: the newest of the last 20 commits on `branch` (default: the ' +
    "project's reference branch, else `master`) that has valid outputs (in `batch` when given).",
  request: {
    query: z.object({
      ...commitQuery,
      commit: boundedText(64).optional().openapi({ example: '48b24841' }),
      branch: branchName().optional(),
    }),
  },
  responses: { 200: jsonContent(commitSchema, 'The commit.'), ...errorResponses, ...notFoundResponse },
});

const commitListQuery = z.object({
  project: projectId(),
  from: timestampQuery.openapi({ description: 'Window start (default: 4 days before `to`).' }),
  to: timestampQuery.openapi({ description: 'Window end (default: now).' }),
  committer: boundedText(512).optional(),
  batch: batchLabel().optional().openapi({ description: 'Only this batch label.' }),
  only_ci_batches: booleanQuery.openapi({ type: 'string', enum: ['true', 'false'], description: 'Only the `default` (CI) batch.' }),
  with_outputs: booleanQuery.openapi({ type: 'string', enum: ['true', 'false'] }),
  metrics: metricsQuery,
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_COMMITS_PER_PAGE)
    .default(MAX_COMMITS_PER_PAGE)
    .openapi({ type: 'integer', description: `Commits per page (at most ${MAX_COMMITS_PER_PAGE}, the default).` }),
  cursor: z
    .string()
    .max(1024)
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const cursor = decodeCursor(text);
      if (!cursor) ctx.addIssue({ code: 'custom', message: 'is not a cursor this API gave (use the `Link: rel="next"` URL)' });
      return cursor ?? z.NEVER;
    })
    .openapi({ type: 'string', description: 'Where the page starts: from the previous page’s `Link: rel="next"`.' }),
});
const commitListDescription =
  'Newest first, only commits with batches, within a date window that slides back to the latest matching commit. ' +
  'Pages of `limit` commits; when there are more, `Link: <…>; rel="next"` is the next page (same window, same filters).';
const nextPageHeader = {
  Link: { description: 'The next page, when there is one: `<url>; rel="next"`.', schema: { type: 'string' as const } },
};

export const listCommits = createRoute({
  method: 'get',
  path: '/api/v1/commits',
  operationId: 'listCommits',
  tags,
  summary: "The project's recent commits",
  description: commitListDescription,
  request: { query: commitListQuery },
  responses: { 200: { ...jsonContent(z.array(commitSchema), 'The commits.'), headers: nextPageHeader }, ...errorResponses, ...notFoundResponse },
});

export const listBranchCommits = createRoute({
  method: 'get',
  path: '/api/v1/commits/{branch}',
  operationId: 'listBranchCommits',
  tags,
  summary: 'Recent commits of a branch',
  description: `${commitListDescription} \`branch\` matches \`x\` and \`origin/x\`, and may contain slashes.`,
  request: { params: z.object({ branch: branchName() }), query: commitListQuery },
  responses: { 200: { ...jsonContent(z.array(commitSchema), 'The commits.'), headers: nextPageHeader }, ...errorResponses, ...notFoundResponse },
});

const hexsha = z.string().regex(/^[0-9a-fA-F]{4,64}$/, 'must be a hexadecimal commit id').openapi({ example: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1' });
const runRequestUnavailable = { 503: problemResponseSpec('GitLab is not configured (runs are dispatched to GitLab CI), or the request could not be queued.') };

const batchesDeletion = {
  tags,
  summary: "Delete every batch of a commit",
  description:
    'Stops and deletes all the batches of the commit (the commit stays, without batches). Without a project: in every project ' +
    '(sub-projects of a repository) the caller can see. Refused for a milestone commit and for the latest commit of the ' +
    "project's reference branch.",
  responses: {
    200: jsonContent(
      statusOkSchema
        .extend({ deleted_batches: z.number().int(), deleted_outputs: z.number().int(), cancelled_run_requests: z.array(z.number().int()) })
        .openapi('CommitBatchesDeleted', { example: { status: 'OK', deleted_batches: 2, deleted_outputs: 80, cancelled_run_requests: [] } }),
      'Deleted.',
    ),
    ...errorResponses,
    403: problemResponseSpec('The token lacks the `write` scope, or the commit is protected (a milestone, the head of the reference branch).'),
    ...notFoundResponse,
  },
};

export const deleteCommitBatches = createRoute({
  method: 'delete',
  path: '/api/v1/commit/{id}/batches',
  operationId: 'deleteCommitBatches',
  ...batchesDeletion,
  request: { params: z.object({ id: hexsha }) },
});

export const deleteProjectCommitBatches = createRoute({
  method: 'delete',
  path: '/api/v1/commit/{project}/{id}/batches',
  operationId: 'deleteProjectCommitBatches',
  ...batchesDeletion,
  summary: "Delete every batch of a project's commit",
  request: { params: z.object({ project: projectId().openapi({ description: 'May contain slashes, as sent: `/api/v1/commit/group/repo/<sha>/batches`.' }), id: hexsha }) },
});

const jsonObject = z.record(z.string(), z.unknown());

const tuningRequest = z
  .object({
    batch_label: batchLabel().openapi({ example: 'denoise-sweep' }),
    selected_group: boundedText(1024).openapi({ description: 'A batch or alias of the batches files.', example: 'night' }),
    groups: z
      .array(boundedText(256).nullable())
      .max(20)
      .transform((names) => names.map((name) => name ?? 'null'))
      .openapi({ description: 'Stored groups to read after the commit\'s batches files (`null`: the group the web app saves as `null`).', example: ['extra-batches', 'ada'] }),
    tuning_search: z.object({
      search_type: z.enum(['grid', 'sampler', 'optimize']),
      search_options: jsonObject.optional(),
      parameter_search: z.union([jsonObject, z.array(jsonObject), z.string().max(65_536)]).optional(),
    }),
    platform: platformName().optional(),
    overwrite: z
      .union([z.boolean(), z.enum(['on', 'off'])])
      .default(false)
      .transform((value) => value === true || value === 'on')
      .openapi({ description: 'Run again the runs that already succeeded (`qa batch --action-on-existing run`; else `sync`).' }),
    user: boundedText(256).nullish().openapi({ description: "The web app's user name (recorded)." }),
  })
  .superRefine((request, ctx) => {
    const optimize = request.tuning_search.search_type === 'optimize';
    if (optimize !== (typeof request.tuning_search.parameter_search === 'string' && request.tuning_search.parameter_search !== '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['tuning_search', 'parameter_search'],
        message: optimize ? "must be the optimizer's YAML configuration" : 'must be an object (or a list of objects) of parameter values',
      });
    }
  })
  .openapi('TuningRequest', {
    description: 'As the tuning form sends it; other fields it sends (`configuration`, `android_device`, `project`) are ignored.',
    example: {
      batch_label: 'denoise-sweep',
      selected_group: 'night',
      groups: ['extra-batches', 'ada'],
      tuning_search: { search_type: 'grid', search_options: {}, parameter_search: { strength: [0.3, 0.5] } },
      platform: 'linux',
      overwrite: false,
      user: 'ada',
    },
  });

export const requestTuning = createRoute({
  method: 'post',
  path: '/api/v1/commit/{hexsha}/batch',
  operationId: 'requestTuning',
  tags,
  summary: 'Ask for a tuning batch on a commit, run in CI',
  description:
    'The tuning form\'s "Send": records a run request (creating the batch `batch_label`) and dispatches it as a GitLab pipeline on the ' +
    "commit that runs `qa batch` (or `qa optimize`) with the commit's batches files and the stored groups, merged. Follow it at " +
    '`/api/v1/run-requests/{id}`.',
  request: { params: z.object({ hexsha }), query: z.object({ project: projectId() }), body: jsonBody(tuningRequest) },
  responses: { 202: jsonContent(runRequestSchema, 'The run request, queued.'), ...errorResponses, ...notFoundResponse, ...runRequestUnavailable },
});

export const saveArtifacts = createRoute({
  method: 'post',
  path: '/api/v1/commit/save-artifacts',
  operationId: 'saveArtifacts',
  tags,
  summary: "Save a commit's artifacts again, in CI",
  description:
    'Records a run request and dispatches it as a GitLab pipeline on the commit that runs `qa save-artifacts`. ' +
    'Follow it at `/api/v1/run-requests/{id}`.',
  request: {
    body: jsonBody(z.object({ hexsha, project: projectId() }).openapi('SaveArtifactsRequest', { example: { hexsha: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1', project: 'group/repo' } })),
  },
  responses: { 202: jsonContent(runRequestSchema, 'The run request, queued.'), ...errorResponses, ...notFoundResponse, ...runRequestUnavailable },
});

export type GetCommitById = typeof getCommitById;
export type GetCommit = typeof getCommit;
export type ListCommits = typeof listCommits;
export type ListBranchCommits = typeof listBranchCommits;
export type DeleteCommitBatches = typeof deleteCommitBatches;
export type DeleteProjectCommitBatches = typeof deleteProjectCommitBatches;
export type RequestTuning = typeof requestTuning;
export type SaveArtifacts = typeof saveArtifacts;
