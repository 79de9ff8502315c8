/**
 * One log line per request (method, path, status, duration, request id, caller), and for a failure
 * what an operator needs: the database's own error (SQLSTATE, message, constraint) or the
 * exception — never the statement or its parameters, which hold the upload.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { describeFailure } from './database-failure';
import { ApiError } from './problem';
import type { LogRecord } from './logger';
import type { AppBindings } from './types';

const requestBytes = (c: Context) => Number(c.req.header('content-length') ?? 0) || undefined;

export const logRequests: MiddlewareHandler<AppBindings> = async (c, next) => {
  const started = performance.now();
  await next();
  const status = c.res.status;
  const record: LogRecord = {
    method: c.req.method,
    path: c.req.path,
    status,
    duration_ms: Math.round((performance.now() - started) * 10) / 10,
    request_id: c.get('requestId'),
    caller: c.get('caller')?.id,
    request_bytes: requestBytes(c),
    ...c.get('logDetail'),
    // A deliberate 5xx (the circuit is open, a queue refused) is described by its message; anything else fully.
    ...(c.error && status >= 500 && (c.error instanceof ApiError ? { error: c.error.message } : describeFailure(c.error))),
  };
  c.get('logger').log(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info', record);
};
