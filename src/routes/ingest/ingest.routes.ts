import { createRoute, z } from '@hono/zod-openapi';
import { bulkUpload, MAX_BULK_BYTES, MAX_BULK_UPLOADS } from '../../domain/ingest/bulk';
import { batchUpload, commitUpload, outputUpload } from '../../domain/ingest/envelope';
import { idempotencyKeyParameter, idempotent } from '../idempotency';
import {
  errorResponses,
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

const receiptSchema = z
  .object({
    status: z.literal('queued'),
    ingestion_id: z.string().openapi({ description: 'Ask `GET /api/v1/ingestions/{id}` what became of the upload.' }),
    detail: z.string(),
  })
  .openapi('IngestionReceipt', {
    example: {
      status: 'queued',
      ingestion_id: '0192f4a2-7c3e-7b1a-9d2e-5f6a7b8c9d0e',
      detail: 'Accepted while the database is unavailable; it will be written when the database is back.',
    },
  });
/** While the database is unavailable an upload is kept and written later: 202 with a receipt. */
const queued = { 202: jsonContent(receiptSchema, 'Accepted while the database is unavailable: kept, and written once it is back.') };

export const postOutput = createRoute({
  method: 'post',
  path: '/api/v1/output',
  operationId: 'postOutput',
  tags,
  summary: 'Create or update an output (a run of the code on a test input)',
  description:
    'Sent by `qa run` when a run starts and when it ends. Creates the project, commit, batch and test input on first sight. ' +
    'Identity: (commit, batch label, test input, platform, configurations, extra_parameters). Uploads of one output are kept ' +
    'in the order they were received, whenever they are written.',
  middleware: [idempotent],
  parameters: [idempotencyKeyParameter],
  request: { body: jsonBody(outputUpload) },
  responses: { 200: jsonContent(outputSchema, 'The output.'), ...queued, ...ingestionErrors },
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
  parameters: [idempotencyKeyParameter],
  request: { body: jsonBody(batchUpload) },
  responses: {
    200: jsonContent(statusOkSchema.extend({ id: z.number().int() }).openapi('BatchUploaded', { example: { status: 'OK', id: 77 } }), 'The batch id.'),
    ...queued,
    ...ingestionErrors,
  },
});

const commitResponses = { 200: jsonContent(statusOkSchema, 'Recorded.'), ...queued, ...ingestionErrors, ...notFoundResponse };

export const postCommit = createRoute({
  method: 'post',
  path: '/api/v1/commit',
  operationId: 'postCommit',
  tags,
  summary: 'Create or update a commit (named by commit_sha)',
  description: '`data` is merged into the commit data (e.g. code-quality metrics); a deleted commit comes back.',
  middleware: [idempotent],
  parameters: [idempotencyKeyParameter],
  request: { body: jsonBody(commitUpload) },
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
  parameters: [idempotencyKeyParameter],
  request: {
    params: z.object({ id: z.string().regex(/^[0-9a-fA-F]{4,64}$/, 'must be a hexadecimal commit id').openapi({ example: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1' }) }),
    body: jsonBody(commitUpload),
  },
  responses: commitResponses,
});

export const postBulkOutputs = createRoute({
  method: 'post',
  path: '/api/v2/outputs',
  operationId: 'postBulkOutputs',
  tags,
  summary: `Many output uploads at once (at most ${MAX_BULK_UPLOADS}, ${MAX_BULK_BYTES / 1024 / 1024} MB)`,
  description:
    'Every upload is validated first: one invalid upload refuses the request with a 400 that names it, and nothing is kept. ' +
    'Accepted uploads are queued and written with multi-row statements; `GET /api/v1/ingestions/{id}` tells when they are.',
  middleware: [idempotent],
  parameters: [idempotencyKeyParameter],
  request: { body: jsonBody(bulkUpload) },
  responses: {
    202: jsonContent(
      z.object({ ingestion_id: z.string(), accepted: z.number().int() }).openapi('BulkAccepted', {
        example: { ingestion_id: '0192f4a2-7c3e-7b1a-9d2e-5f6a7b8c9d0e', accepted: 1000 },
      }),
      'Accepted: queued for writing.',
    ),
    ...ingestionErrors,
  },
});

/** Uploads from CI: rate limited apart from other requests (see src/auth/request-limits.ts), spooled while the database is down. */
export const ingestionRoutes = [postOutput, postBatch, postCommit, postCommitById, postBulkOutputs];
/** Routes whose bodies may be larger than `MAX_BODY_BYTES`. */
export const bulkRoutes = [postBulkOutputs];

export type PostOutput = typeof postOutput;
export type PostBatch = typeof postBatch;
export type PostCommit = typeof postCommit;
export type PostCommitById = typeof postCommitById;
export type PostBulkOutputs = typeof postBulkOutputs;
