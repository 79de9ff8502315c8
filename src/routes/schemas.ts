/** Response shapes of the v1 API (the web app and the qa CLI read these field names and types). */
import { z } from '@hono/zod-openapi';
import { PROBLEM_CONTENT_TYPE } from '../lib/problem';

const jsonObject = z.record(z.string(), z.unknown());
const isoDatetime = z.string().openapi({ example: '2026-11-28T19:53:32.117371+00:00' });

export const outputSchema = z
  .object({
    id: z.number().int(),
    output_type: z.string(),
    platform: z.string(),
    configurations: z.array(z.unknown()),
    extra_parameters: jsonObject,
    metrics: jsonObject,
    is_failed: z.boolean(),
    is_pending: z.boolean(),
    is_running: z.boolean(),
    data: jsonObject,
    deleted: z.boolean(),
    created_date: isoDatetime,
    output_dir_url: z.string().openapi({ description: '`/s<folder>` (URL-quoted) on shared storage, or an object-storage URL.' }),
    test_input_database: z.string(),
    test_input_path: z.string(),
    test_input_metadata: jsonObject,
  })
  .openapi('Output');

export const batchSchema = z
  .object({
    id: z.number().int(),
    commit_id: z.string(),
    label: z.string(),
    created_date: isoDatetime,
    data: jsonObject,
    batch_dir_url: z.string(),
    aggregated_metrics: z
      .record(z.string(), z.number())
      .openapi({ description: '`<metric>_median` and `<metric>_average` over valid outputs, for each requested metric with values.' }),
    valid_outputs: z.number().int(),
    pending_outputs: z.number().int(),
    running_outputs: z.number().int(),
    failed_outputs: z.number().int(),
    deleted_outputs: z.number().int(),
    outputs: z.record(z.string(), outputSchema).optional().openapi({ description: 'Keyed by output id.' }),
  })
  .openapi('Batch');

export const commitSchema = z
  .object({
    id: z.string().openapi({ description: 'The hexsha.' }),
    branch: z.string().nullable(),
    message: z.string(),
    committer_name: z.string(),
    committer_avatar_url: z.string(),
    authored_datetime: isoDatetime,
    authored_date: z.string().openapi({ example: '2026-11-28' }),
    latest_output_datetime: isoDatetime.nullable(),
    deleted: z.boolean(),
    data: jsonObject,
    outputs_url: z.string(),
    artifacts_url: z.string(),
    repo_artifacts_url: z.string(),
    batches: z.record(z.string(), batchSchema).openapi({ description: 'Keyed by batch label.' }),
  })
  .openapi('Commit');

export const projectSummarySchema = z
  .object({
    data: jsonObject,
    latest_output_datetime: isoDatetime.nullable(),
    latest_commit_datetime: isoDatetime,
    total_commits: z.number().int(),
  })
  .openapi('ProjectSummary');

export const statusOkSchema = z.object({ status: z.literal('OK') }).openapi('StatusOk');

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    error: z.string().openapi({ description: 'Same as `detail`, for clients of the original API.' }),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** An error response of a route contract: a problem+json body. */
export const problemResponseSpec = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } },
});

const withHeader = (spec: ReturnType<typeof problemResponseSpec>, name: string, description: string) => ({
  ...spec,
  headers: { [name]: { description, schema: { type: 'string' as const } } },
});

/** Failures every route may answer: the access control and rate limiting apply to all of them. */
export const errorResponses = {
  400: problemResponseSpec('Invalid request: `errors` names the fields.'),
  401: withHeader(
    problemResponseSpec('No token where AUTH_MODE requires one, or an unknown or revoked token.'),
    'WWW-Authenticate',
    'Bearer and Basic (the token as password).',
  ),
  403: problemResponseSpec('The token lacks the scope the request needs (`read`, `write`, `admin`).'),
  429: withHeader(problemResponseSpec('Too many requests from this token (or address).'), 'Retry-After', 'Seconds to wait.'),
  500: problemResponseSpec('Unexpected error; `request_id` identifies it in the logs.'),
};
export const notFoundResponse = { 404: problemResponseSpec('Unknown project, commit or output.') };
export const tooLargeResponse = { 413: problemResponseSpec('The body exceeds the size limit.') };

/** POST ingestion routes take an `Idempotency-Key` (see src/lib/idempotency.ts). */
export const idempotencyKeyHeaders = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .openapi({
      description:
        'Makes a retry safe: the same key with the same payload replays the stored response (header `Idempotency-Replayed: true`). ' +
        'Keys are per token and expire after 24 h.',
      example: '3f6c1e9a-run-42',
    }),
});
export const idempotencyResponses = {
  409: problemResponseSpec('A request with this Idempotency-Key is still in progress.'),
  422: problemResponseSpec('This Idempotency-Key was used with another payload.'),
};

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** The `metrics` query parameter: a JSON object `{metric: threshold}` whose keys are aggregated. */
export const metricsQuery = z
  .string()
  .max(8192)
  .optional()
  .transform((text, ctx) => {
    if (!text) return [];
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object such as {"psnr": 0}' });
      return z.NEVER;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object such as {"psnr": 0}' });
      return z.NEVER;
    }
    const names = Object.keys(value);
    if (names.length > 50) {
      ctx.addIssue({ code: 'custom', message: 'at most 50 metrics can be aggregated' });
      return z.NEVER;
    }
    return names;
  })
  .openapi({ type: 'string', description: 'JSON object `{metric_name: threshold}`; its keys are aggregated.', example: '{"psnr": 0}' });

/** Boolean query flags as the web app sends them (`true`/`false`). */
export const booleanQuery = z
  .enum(['true', 'false'])
  .optional()
  .transform((v) => v === 'true');
