import { createRoute, z } from '@hono/zod-openapi';
import { batchLabel, branchName, projectId } from '../../domain/fields';
import { boundedText } from '../../lib/fields';
import { MAX_COMMITS_PER_PAGE, decodeCursor } from '../../domain/read/commits';
import { booleanQuery, commitSchema, errorResponses, jsonContent, metricsQuery, notFoundResponse, timestampQuery } from '../schemas';

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

export type GetCommitById = typeof getCommitById;
export type GetCommit = typeof getCommit;
export type ListCommits = typeof listCommits;
export type ListBranchCommits = typeof listBranchCommits;
