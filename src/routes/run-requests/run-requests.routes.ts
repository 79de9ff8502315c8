import { createRoute, z } from '@hono/zod-openapi';
import { RUN_REQUEST_STATUSES } from '../../db/schema';
import { projectId } from '../../domain/fields';
import { runRequestSchema } from '../../domain/run-requests/run-requests';
import { boundedText } from '../../lib/fields';
import { errorResponses, idParam, jsonContent, notFoundResponse, problemResponseSpec } from '../schemas';

const tags = ['Run requests'];

export const listRunRequests = createRoute({
  method: 'get',
  path: '/api/v1/run-requests',
  operationId: 'listRunRequests',
  tags,
  summary: "A project's run requests, newest first",
  description: 'Tuning, redo and save-artifacts requests from the web app, and where each stands: queued → dispatched → running → done | failed | cancelled.',
  request: {
    query: z.object({
      project: projectId(),
      commit: boundedText(64).optional().openapi({ description: 'A hexsha, or a prefix of it.', example: '48b24841' }),
      status: z.enum(RUN_REQUEST_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ type: 'integer', example: 100 }),
    }),
  },
  responses: { 200: jsonContent(z.array(runRequestSchema), 'The requests.'), ...errorResponses, ...notFoundResponse },
});

export const getRunRequest = createRoute({
  method: 'get',
  path: '/api/v1/run-requests/{id}',
  operationId: 'getRunRequest',
  tags,
  summary: 'A run request',
  description: 'Its status, its GitLab pipeline once dispatched, and why it failed. The CI job of a pipeline reads its parameters here.',
  request: { params: z.object({ id: idParam }) },
  responses: { 200: jsonContent(runRequestSchema, 'The request.'), ...errorResponses, ...notFoundResponse },
});

export const cancelRunRequest = createRoute({
  method: 'post',
  path: '/api/v1/run-requests/{id}/cancel',
  operationId: 'cancelRunRequest',
  tags,
  summary: 'Cancel a run request, and its pipeline',
  description: 'The request is cancelled at once; its pipeline, if dispatched, is cancelled on GitLab in the background (retried). Cancelling a cancelled request changes nothing.',
  request: { params: z.object({ id: idParam }) },
  responses: {
    200: jsonContent(runRequestSchema, 'The cancelled request.'),
    ...errorResponses,
    ...notFoundResponse,
    409: problemResponseSpec('The request is already done or failed.'),
  },
});

export type ListRunRequests = typeof listRunRequests;
export type GetRunRequest = typeof getRunRequest;
export type CancelRunRequest = typeof cancelRunRequest;
