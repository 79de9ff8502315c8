/**
 * One error shape for every failure: RFC 9457 `application/problem+json`, built here and only here
 * (`problemResponse`). Bodies keep an `error` member because the original API answered
 * `{"error": "..."}` and old clients (the `qa` CLI, the web app) read it.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { databaseFailure } from './database-failure';

export interface FieldError {
  /** Dotted path of the offending field, e.g. `metrics` or `configurations.0`. */
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  error: string;
  instance: string;
  request_id: string;
  errors?: FieldError[];
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 410 | 411 | 413 | 415 | 416 | 422 | 429 | 500 | 501 | 502 | 503 | 504;

const TITLES: Record<ErrorStatus, string> = {
  400: 'Invalid request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A failure the client can act on; `problemResponse` turns it into the response. */
export class ApiError extends Error {
  constructor(
    readonly status: ErrorStatus,
    detail: string,
    readonly options: {
      errors?: FieldError[];
      /** Response headers the status calls for (`WWW-Authenticate` with 401, `Retry-After` with 429/503). */
      headers?: Record<string, string>;
      title?: string;
      /** RFC 9457 extension members: what the client needs to act on this failure (e.g. the verdict that failed a CI gate). */
      extensions?: Record<string, unknown> & { [K in keyof Problem]?: never };
    } = {},
  ) {
    super(detail);
  }

  get title(): string {
    return this.options.title ?? TITLES[this.status];
  }
}

export const notFound = (detail: string) => new ApiError(404, detail);

export const conflict = (detail: string) => new ApiError(409, detail);

export const invalidFields = (errors: FieldError[]) =>
  new ApiError(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });

export const invalidField = (field: string, message: string) => invalidFields([{ field, message }]);

export const tooManyRequests = (retryAfterSeconds: number, detail = `Too many requests; retry in ${retryAfterSeconds} s.`) =>
  new ApiError(429, detail, { headers: { 'retry-after': String(retryAfterSeconds) } });

export const serviceUnavailable = (detail: string, retryAfterSeconds?: number) =>
  new ApiError(503, detail, retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } });

/** How long clients are told to wait while the database is unreachable. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * The client-facing form of any thrown value. Unknown errors become a 500 that only carries the
 * request id (the log has the rest); database outages and deadlock victims become a 503 the client
 * can retry.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException && error.status >= 400 && error.status < 500) {
    return new ApiError((error.status in TITLES ? error.status : 400) as ErrorStatus, error.message);
  }
  const failure = databaseFailure(error);
  if (failure?.unavailable) {
    return serviceUnavailable(`The database is unavailable; retry in ${DATABASE_RETRY_AFTER_SECONDS} s.`, DATABASE_RETRY_AFTER_SECONDS);
  }
  // The same request sent again succeeds: Postgres aborted it for a concurrent transaction's sake.
  if (failure?.conflict) return serviceUnavailable('A concurrent change got in the way; retry.', 1);
  return new ApiError(500, 'Unexpected error');
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The response for any failure of a request. */
export function problemResponse(c: Context, thrown: unknown): Response {
  const error = toApiError(thrown);
  const requestId: string = c.get('requestId') ?? '';
  const detail = error.status === 500 ? `Unexpected error; quote request id ${requestId} when reporting it.` : error.message;
  const body: Problem & Record<string, unknown> = {
    type: 'about:blank',
    title: error.title,
    status: error.status,
    detail,
    error: detail,
    instance: c.req.path,
    request_id: requestId,
    ...(error.options.errors && { errors: error.options.errors }),
    ...error.options.extensions,
  };
  // Through the context, so that the headers set before the failure (request id, CORS) are kept.
  return c.body(JSON.stringify(body), {
    status: error.status,
    headers: { ...error.options.headers, 'content-type': PROBLEM_CONTENT_TYPE },
  });
}
