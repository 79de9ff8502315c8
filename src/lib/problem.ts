/**
 * One error shape for every failure: RFC 9457 `application/problem+json`.
 * Bodies keep an `error` member because the original API answered `{"error": "..."}`
 * and old clients (the `qa` CLI, the web app) read it.
 */
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
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
}

/** A failure the client can act on; mapped to a problem response by the app's error handler. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }

  /** Response headers the status calls for (`WWW-Authenticate` with 401, `Retry-After` with 429). */
  headers?: Record<string, string>;
}

export const notFound = (detail: string) => new ApiError(404, 'Not Found', detail);

export const invalidField = (field: string, message: string) =>
  new ApiError(400, 'Invalid request', `${field}: ${message}`, [{ field, message }]);

export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Pick<Problem, 'instance' | 'request_id' | 'errors'> = {},
): Problem {
  return { type: 'about:blank', title, status, detail, error: detail, ...extra };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemResponse(body: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { ...headers, 'content-type': PROBLEM_CONTENT_TYPE },
  });
}
