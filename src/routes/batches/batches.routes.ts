import { createRoute, z } from '@hono/zod-openapi';
import { batchLabel } from '../../domain/fields';
import { runRequestSchema } from '../../domain/run-requests/run-requests';
import { boundedText } from '../../lib/fields';
import { booleanQuery, errorResponses, idParam, jsonBody, jsonContent, notFoundResponse, problemResponseSpec, statusOkSchema } from '../schemas';

const tags = ['Batches'];
const batchId = z.number().int().positive().max(2_147_483_647).openapi({ example: 77 });
const flag = (description: string) => booleanQuery.openapi({ type: 'string', enum: ['true', 'false'], description });
const cancelledRunRequests = z.array(z.number().int()).openapi({ description: 'Run requests of the batch that were cancelled, with their pipelines.' });
const noRuns409 = { 409: problemResponseSpec('The batch (or a selected output) still has runs in progress, or the label is taken.') };
const runRequestUnavailable = { 503: problemResponseSpec('GitLab is not configured (runs are dispatched to GitLab CI), or the request could not be queued.') };

export const stopBatch = createRoute({
  method: 'post',
  path: '/api/v1/batch/stop',
  operationId: 'stopBatch',
  tags,
  summary: "Stop a batch's runs",
  description:
    'Its unfinished outputs end as failed, with `data.failure_reason: "stopped"`; the run requests reporting to it are cancelled, ' +
    'and their GitLab pipelines with them.',
  request: { body: jsonBody(z.object({ id: batchId }).openapi('BatchRef', { example: { id: 77 } })) },
  responses: {
    200: jsonContent(
      statusOkSchema
        .extend({ stopped_outputs: z.number().int(), cancelled_run_requests: cancelledRunRequests })
        .openapi('BatchStopped', { example: { status: 'OK', stopped_outputs: 12, cancelled_run_requests: [31] } }),
      'Stopped.',
    ),
    ...errorResponses,
    ...notFoundResponse,
  },
});

export const redoBatch = createRoute({
  method: 'post',
  path: '/api/v1/batch/redo',
  operationId: 'redoBatch',
  tags,
  summary: "Run a batch's outputs again, in CI",
  description:
    'Records a run request and dispatches it as a GitLab pipeline on the commit that runs `qa batch` on the outputs: all of them, ' +
    'the failed ones (`only_failed`) or the deleted ones (`only_deleted`). Follow it at `/api/v1/run-requests/{id}`.',
  request: {
    body: jsonBody(
      z
        .object({ id: batchId, only_failed: z.boolean().default(false), only_deleted: z.boolean().default(false) })
        .openapi('BatchRedo', { example: { id: 77, only_failed: true } }),
    ),
  },
  responses: { 202: jsonContent(runRequestSchema, 'The run request, queued.'), ...errorResponses, ...notFoundResponse, ...runRequestUnavailable },
});

export const renameBatch = createRoute({
  method: 'post',
  path: '/api/v1/batch/rename',
  operationId: 'renameBatch',
  tags,
  summary: 'Rename a batch',
  description: 'The label must be free in the commit. Refused while the batch runs: its runs would report to the old label.',
  request: { body: jsonBody(z.object({ id: batchId, label: batchLabel() }).openapi('BatchRename', { example: { id: 77, label: 'denoise-v2' } })) },
  responses: { 200: jsonContent(statusOkSchema, 'Renamed.'), ...errorResponses, ...notFoundResponse, ...noRuns409 },
});

export const moveBatch = createRoute({
  method: 'post',
  path: '/api/v1/batch/move',
  operationId: 'moveBatch',
  tags,
  summary: "Move a batch's outputs to another batch of the commit",
  description:
    'Moves the outputs the web app\'s `filter` selects (space-separated regular expressions, `-` to exclude; empty: all; at most 256 characters) to the batch ' +
    '`label`, created if needed. An emptied batch is deleted, unless a milestone points at it. Refused when a selected output runs, ' +
    'or when the target already has one of these runs (nothing moves then).',
  request: {
    body: jsonBody(
      z
        .object({ id: batchId, label: batchLabel(), filter: boundedText(256, 0).nullish() })
        .openapi('BatchMove', { example: { id: 77, label: 'night-only', filter: 'night -fail' } }),
    ),
  },
  responses: {
    200: jsonContent(
      statusOkSchema.extend({ moved_outputs: z.number().int() }).openapi('OutputsMoved', { example: { status: 'OK', moved_outputs: 40 } }),
      'Moved.',
    ),
    ...errorResponses,
    ...notFoundResponse,
    ...noRuns409,
  },
});

export const deleteBatch = createRoute({
  method: 'delete',
  path: '/api/v1/batch/{id}',
  operationId: 'deleteBatch',
  tags,
  summary: "Delete a batch's outputs",
  description:
    '`only_failed`: the failed outputs only; otherwise all of them, after stopping the batch. `soft`: mark them deleted (kept with ' +
    'their metadata); otherwise remove them, and the batch once empty. Their R2 files go too (`r2` storage; through the maintenance ' +
    'queue). `filter` with `soft` deletes files only: the R2 files of each (failed) output whose path inside it matches the fnmatch ' +
    'pattern (`*.png` also matches `img/a.png`), except `log.txt` and the manifests; no output changes and nothing is stopped (a ' +
    "shared disk's files are the site's). A milestone's batch can't be removed whole (403).",
  request: {
    params: z.object({ id: idParam }),
    query: z.object({
      soft: flag('Mark deleted instead of removing.'),
      only_failed: flag('Only the failed outputs.'),
      // Short: RE2 (re2js) runs long patterns superlinearly slower on every file (~250 ms a path at 4,096 characters).
      filter: boundedText(256, 0).optional().openapi({ description: 'An fnmatch pattern of the files to delete in each output (with `soft`); 400 when it is not one.' }),
    }),
  },
  responses: {
    200: jsonContent(
      statusOkSchema
        .extend({ deleted_outputs: z.number().int(), batch_deleted: z.boolean(), cancelled_run_requests: cancelledRunRequests })
        .openapi('BatchDeleted', { example: { status: 'OK', deleted_outputs: 40, batch_deleted: true, cancelled_run_requests: [] } }),
      'Deleted.',
    ),
    ...errorResponses,
    403: problemResponseSpec("The token lacks the `write` scope, or the batch is a milestone's."),
    ...notFoundResponse,
  },
});

export type StopBatch = typeof stopBatch;
export type RedoBatch = typeof redoBatch;
export type RenameBatch = typeof renameBatch;
export type MoveBatch = typeof moveBatch;
export type DeleteBatch = typeof deleteBatch;
