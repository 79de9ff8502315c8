/**
 * Response shapes of the v1 API, and the parts every contract shares. These zod schemas are written
 * by hand on purpose: they are the legacy v1 wire shapes (the web app and the qa CLI read these
 * field names and types), assembled from several tables — not a table's row. New resources derive
 * their shapes from the Drizzle schema instead (e.g. src/auth/tokens.ts).
 */
import { z } from '@hono/zod-openapi';
import { metricNameProblem } from '../domain/fields';
import { PROBLEM_CONTENT_TYPE } from '../lib/problem';
import { storableTimestamp } from '../lib/fields';

export { idParam } from '../lib/fields';

export const jsonObject = z.record(z.string(), z.unknown());
const isoDatetime = z.string().openapi({ example: '2026-11-28T19:53:32.117371+00:00' });

const OUTPUT_EXAMPLE = {
  id: 1042,
  output_type: 'default',
  platform: 'linux',
  configurations: ['base', { denoise: { strength: 0.5 } }],
  extra_parameters: { iterations: 3 },
  metrics: { psnr: 31.5, loss: 0.25 },
  is_failed: false,
  is_pending: false,
  is_running: false,
  data: { ci: true, user: 'gitlab-runner' },
  deleted: false,
  created_date: '2026-11-28T19:53:55.869561+00:00',
  output_dir_url: '/s/mnt/qaboard/group/repo/48/b24841e38e16d6/output/scenes/night/0001',
  test_input_database: '/mnt/datasets/isp',
  test_input_path: 'scenes/night/0001.dng',
  test_input_metadata: { iso: 800 },
};

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
  .openapi('Output', { example: OUTPUT_EXAMPLE });

const BATCH_EXAMPLE = {
  id: 77,
  commit_id: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
  label: 'default',
  created_date: '2026-11-28T19:50:01.000000+00:00',
  data: { type: 'ci' },
  batch_dir_url: '/s/mnt/qaboard/group/repo/48/b24841e38e16d6/output',
  aggregated_metrics: { psnr_median: 31.5, psnr_average: 31.2 },
  valid_outputs: 40,
  pending_outputs: 0,
  running_outputs: 0,
  failed_outputs: 1,
  deleted_outputs: 0,
  outputs: { '1042': OUTPUT_EXAMPLE },
};

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
  .openapi('Batch', { example: BATCH_EXAMPLE });

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
  .openapi('Commit', {
    example: {
      id: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
      branch: 'master',
      message: 'Tune the denoiser',
      committer_name: 'Ada Lovelace',
      committer_avatar_url: '',
      authored_datetime: '2026-11-28T19:40:00.000000+00:00',
      authored_date: '2026-11-28',
      latest_output_datetime: '2026-11-28T19:53:55.869561+00:00',
      deleted: false,
      data: {},
      outputs_url: '/s/mnt/qaboard/group/repo/48/b24841e38e16d6',
      artifacts_url: '/s/mnt/qaboard/group/repo/48/b24841e38e16d6',
      repo_artifacts_url: '/s/mnt/qaboard/group/repo/48/b24841e38e16d6',
      batches: { default: BATCH_EXAMPLE },
    },
  });

export const projectSummarySchema = z
  .object({
    data: jsonObject,
    latest_output_datetime: isoDatetime.nullable(),
    latest_commit_datetime: isoDatetime,
    total_commits: z.number().int(),
  })
  .openapi('ProjectSummary', {
    example: {
      data: { git: { path_with_namespace: 'group/repo' }, qatools_config: { project: { name: 'group/repo', reference_branch: 'master' } } },
      latest_output_datetime: '2026-11-28T19:53:55.869561+00:00',
      latest_commit_datetime: '2026-11-28T19:40:00.000000+00:00',
      total_commits: 120,
    },
  });

export const statusOkSchema = z.object({ status: z.literal('OK') }).openapi('StatusOk', { example: { status: 'OK' } });

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    error: z.string().openapi({ description: 'Same as `detail`, for clients of the original API.' }),
    instance: z.string(),
    request_id: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem', {
    example: {
      type: 'about:blank',
      title: 'Invalid request',
      status: 400,
      detail: 'input_path: the input path was not provided (input_path or rel_input_path)',
      error: 'input_path: the input path was not provided (input_path or rel_input_path)',
      instance: '/api/v1/output/',
      request_id: '4d0c3b0e-8a6f-4d55-9e0a-2f6a0d3c9b1e',
      errors: [{ field: 'input_path', message: 'the input path was not provided (input_path or rel_input_path)' }],
    },
  });

/** An error response of a route contract: a problem+json body. */
export const problemResponseSpec = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } },
});

const withHeader = (spec: ReturnType<typeof problemResponseSpec>, name: string, description: string) => ({
  ...spec,
  headers: { [name]: { description, schema: { type: 'string' as const } } },
});

/** Failures every route may answer: the access control, rate limiting and database checks apply to all of them. */
export const errorResponses = {
  400: problemResponseSpec('Invalid request: `errors` names the fields.'),
  401: withHeader(
    problemResponseSpec('No token where AUTH_MODE requires one, or an unknown, revoked or unreadable credential.'),
    'WWW-Authenticate',
    'Bearer and Basic (the token as password).',
  ),
  403: problemResponseSpec('The token lacks the scope the request needs (`read`, `write`, `admin`).'),
  429: withHeader(problemResponseSpec('Too many requests from this token (or address).'), 'Retry-After', 'Seconds to wait.'),
  500: problemResponseSpec('Unexpected error; `request_id` identifies it in the logs.'),
  503: withHeader(problemResponseSpec('The database is unavailable or did not answer in time.'), 'Retry-After', 'Seconds to wait.'),
};
export const notFoundResponse = { 404: problemResponseSpec('Unknown project, commit or output.') };
export const tooLargeResponse = { 413: problemResponseSpec('The body exceeds the size limit.') };

export const idempotencyResponses = {
  409: withHeader(problemResponseSpec('A request with this Idempotency-Key is still in progress.'), 'Retry-After', 'Seconds to wait.'),
  422: problemResponseSpec('This Idempotency-Key was used with another payload.'),
};

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** Schemas `parsedSynchronously` has wrapped (a schema may be the body of several routes). */
const synchronous = new WeakSet<z.ZodType>();

/**
 * A JSON body's schema, parsed synchronously by Hono's validator. It parses with `safeParseAsync`, and
 * zod takes its compiled fast path for objects only in synchronous parses: ~7 µs against ~10 for an
 * upload. So a body's schema may have no async refinement: zod's synchronous parse would run it and drop
 * its promise. One added later fails every request with that body, loudly, from the first test on.
 */
function parsedSynchronously<T extends z.ZodType>(schema: T): T {
  if (synchronous.has(schema)) return schema;
  synchronous.add(schema);
  schema.safeParseAsync = async (data, params) => {
    try {
      return schema.safeParse(data, params);
    } catch (error) {
      if (error instanceof z.core.$ZodAsyncError) throw new Error('a JSON body schema has an async refinement: routes/schemas.ts parses bodies synchronously');
      throw error;
    }
  };
  return schema;
}

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema: parsedSynchronously(schema) } },
});

const METRICS_EXAMPLE = 'must be a JSON object such as {"psnr": 0}';

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
      ctx.addIssue({ code: 'custom', message: METRICS_EXAMPLE });
      return z.NEVER;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: METRICS_EXAMPLE });
      return z.NEVER;
    }
    const names = Object.keys(value);
    if (names.length > 50) {
      ctx.addIssue({ code: 'custom', message: 'at most 50 metrics can be aggregated' });
      return z.NEVER;
    }
    const problem = names.map(metricNameProblem).find(Boolean);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
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

/** A date-time in a query (`from`, `to`), as a Date. */
export const timestampQuery = storableTimestamp()
  .optional()
  .transform((v) => (v ? new Date(v) : undefined))
  .openapi({ type: 'string', format: 'date-time' });
