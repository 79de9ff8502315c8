import { createRoute, z } from '@hono/zod-openapi';
import { batchUpload, commitUpload, outputUpload } from '../../domain/ingest/envelope';
import { idempotent } from '../idempotency';
import {
  errorResponses,
  idempotencyKeyHeaders,
  idempotencyResponses,
  jsonBody,
  jsonContent,
  notFoundResponse,
  outputSchema,
  statusOkSchema,
  tooLargeResponse,
} from '../schemas';

const tags = ['Ingestion (qa CLI)'];
/** Every ingestion route is safe to retry with an `Idempotency-Key`. */
const ingestionErrors = { ...errorResponses, ...tooLargeResponse, ...idempotencyResponses };

export const postOutput = createRoute({
  method: 'post',
  path: '/api/v1/output',
  operationId: 'postOutput',
  tags,
  summary: 'Create or update an output (a run of the code on a test input)',
  description:
    'Sent by `qa run` when a run starts and when it ends. Creates the project, commit, batch and test input on first sight. ' +
    'Identity: (commit, batch label, test input, platform, configurations, extra_parameters).',
  middleware: [idempotent],
  request: { headers: idempotencyKeyHeaders, body: jsonBody(outputUpload) },
  responses: { 200: jsonContent(outputSchema, 'The output.'), ...ingestionErrors },
});

export const postBatch = createRoute({
  method: 'post',
  path: '/api/v1/batch',
  operationId: 'postBatch',
  tags,
  summary: 'Create or update a batch of outputs',
  description:
    'Sent by `qa batch`: records the batch folder and commands. With `qa optimize` data, the best iteration moves into the batch.',
  middleware: [idempotent],
  request: { headers: idempotencyKeyHeaders, body: jsonBody(batchUpload) },
  responses: {
    200: jsonContent(statusOkSchema.extend({ id: z.number().int() }).openapi('BatchUploaded', { example: { status: 'OK', id: 77 } }), 'The batch id.'),
    ...ingestionErrors,
  },
});

const commitResponses = { 200: jsonContent(statusOkSchema, 'Recorded.'), ...ingestionErrors, ...notFoundResponse };

export const postCommit = createRoute({
  method: 'post',
  path: '/api/v1/commit',
  operationId: 'postCommit',
  tags,
  summary: 'Create or update a commit (named by commit_sha)',
  description: '`data` is merged into the commit data (e.g. code-quality metrics); a deleted commit comes back.',
  middleware: [idempotent],
  request: { headers: idempotencyKeyHeaders, body: jsonBody(commitUpload) },
  responses: commitResponses,
});

export const postCommitById = createRoute({
  method: 'post',
  path: '/api/v1/commit/{id}',
  operationId: 'postCommitById',
  tags,
  summary: 'Create or update a commit',
  description: 'As `POST /api/v1/commit`, the commit named by the path.',
  middleware: [idempotent],
  request: {
    params: z.object({ id: z.string().regex(/^[0-9a-fA-F]{4,64}$/, 'must be a hexadecimal commit id').openapi({ example: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1' }) }),
    headers: idempotencyKeyHeaders,
    body: jsonBody(commitUpload),
  },
  responses: commitResponses,
});

/** Uploads from CI: rate limited apart from other requests (see src/auth/request-limits.ts). */
export const ingestionRoutes = [postOutput, postBatch, postCommit, postCommitById];

export type PostOutput = typeof postOutput;
export type PostBatch = typeof postBatch;
export type PostCommit = typeof postCommit;
export type PostCommitById = typeof postCommitById;
