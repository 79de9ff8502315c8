import { createRoute, z } from '@hono/zod-openapi';
import { runRequestSchema } from '../../domain/run-requests/run-requests';
import { booleanQuery, errorResponses, idParam, jsonBody, jsonContent, notFoundResponse, outputSchema, problemResponseSpec, statusOkSchema } from '../schemas';

const tags = ['Outputs'];
const params = z.object({ id: idParam });
const jsonObject = z.record(z.string(), z.unknown());

export const getOutput = createRoute({
  method: 'get',
  path: '/api/v1/output/{id}',
  operationId: 'getOutput',
  tags,
  summary: 'An output',
  description: '`qa wait` polls it while `is_pending`.',
  request: { params },
  responses: { 200: jsonContent(outputSchema, 'The output.'), ...errorResponses, ...notFoundResponse },
});

const outputPatch = z
  .object({
    is_pending: z.boolean().optional(),
    is_running: z.boolean().optional(),
    is_failed: z.boolean().optional(),
    data: jsonObject.optional().openapi({ description: 'Merged into the output data (top-level keys replaced).' }),
    metrics: jsonObject.optional().openapi({ description: 'Merged into the metrics (top-level keys replaced).' }),
  })
  .openapi('OutputPatch', { example: { is_pending: false, is_running: false, is_failed: true } });

export const updateOutput = createRoute({
  method: 'put',
  path: '/api/v1/output/{id}',
  operationId: 'updateOutput',
  tags,
  summary: "Change an output's status, data or metrics",
  description: 'The web app\'s "Mark as finished" sends `{is_pending: false, is_running: false, is_failed: true}`. Flags are set as given; `data` and `metrics` are merged.',
  request: { params, body: jsonBody(outputPatch) },
  responses: { 200: jsonContent(outputSchema, 'The output.'), ...errorResponses, ...notFoundResponse },
});

export const deleteOutput = createRoute({
  method: 'delete',
  path: '/api/v1/output/{id}',
  operationId: 'deleteOutput',
  tags,
  summary: 'Delete an output',
  description:
    '`soft=true` marks it deleted (it stays, with its metadata; a redo brings it back); otherwise it is removed. ' +
    "Refused while it runs. Files stay where they are: they belong to the site's storage.",
  request: { params, query: z.object({ soft: booleanQuery.openapi({ type: 'string', enum: ['true', 'false'] }) }) },
  responses: {
    200: jsonContent(statusOkSchema, 'Deleted.'),
    ...errorResponses,
    ...notFoundResponse,
    409: problemResponseSpec('The output is still running.'),
  },
});

export const redoOutput = createRoute({
  method: 'post',
  path: '/api/v1/output/redo/{id}',
  operationId: 'redoOutput',
  tags,
  summary: 'Run an output again, in CI',
  description:
    'Records a run request and dispatches it as a GitLab pipeline on the commit, which runs `qa batch` on this output\'s input, ' +
    'configurations and parameters (see the README). Follow it at `/api/v1/run-requests/{id}`. The body is ignored.',
  request: { params },
  responses: {
    202: jsonContent(runRequestSchema, 'The run request, queued.'),
    ...errorResponses,
    ...notFoundResponse,
    503: problemResponseSpec('GitLab is not configured (runs are dispatched to GitLab CI), or the request could not be queued.'),
  },
});

export type GetOutput = typeof getOutput;
export type UpdateOutput = typeof updateOutput;
export type DeleteOutput = typeof deleteOutput;
export type RedoOutput = typeof redoOutput;
