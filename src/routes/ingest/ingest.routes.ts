import { createRoute, z } from '@hono/zod-openapi';
import { batchUpload, commitUpload, outputUpload } from '../../domain/ingest/envelope';
import { idempotent } from '../../lib/idempotency';
import {
  errorResponses,
  idempotencyKeyHeaders,
  idempotencyResponses,
  jsonContent,
  notFoundResponse,
  outputSchema,
  statusOkSchema,
  tooLargeResponse,
} from '../schemas';

const tags = ['Ingestion (qa CLI)'];
const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});
/** Every ingestion route is safe to retry with an `Idempotency-Key`. */
const ingestionErrors = { ...errorResponses, ...tooLargeResponse, ...idempotencyResponses };

export const postOutput = createRoute({
  method: 'post',
  path: '/api/v1/output',
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
  tags,
  summary: 'Create or update a batch of outputs',
  middleware: [idempotent],
  request: { headers: idempotencyKeyHeaders, body: jsonBody(batchUpload) },
  responses: {
    200: jsonContent(statusOkSchema.extend({ id: z.number().int() }).openapi('BatchUploaded'), 'The batch id.'),
    ...ingestionErrors,
  },
});

const commitResponses = { 200: jsonContent(statusOkSchema, 'Recorded.'), ...ingestionErrors, ...notFoundResponse };

export const postCommit = createRoute({
  method: 'post',
  path: '/api/v1/commit',
  tags,
  summary: 'Create or update a commit (named by commit_sha)',
  middleware: [idempotent],
  request: { headers: idempotencyKeyHeaders, body: jsonBody(commitUpload) },
  responses: commitResponses,
});

export const postCommitById = createRoute({
  method: 'post',
  path: '/api/v1/commit/{id}',
  tags,
  summary: 'Create or update a commit',
  middleware: [idempotent],
  request: {
    params: z.object({ id: z.string().regex(/^[0-9a-fA-F]{4,64}$/, 'must be a hexadecimal commit id') }),
    headers: idempotencyKeyHeaders,
    body: jsonBody(commitUpload),
  },
  responses: commitResponses,
});

export type PostOutput = typeof postOutput;
export type PostBatch = typeof postBatch;
export type PostCommit = typeof postCommit;
export type PostCommitById = typeof postCommitById;
