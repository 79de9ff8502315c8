/**
 * Hono's `bodyLimit`, without its cost on the Node entry: it first asks `c.req.raw.body`, for which
 * @hono/node-server builds a full web `Request` and a `ReadableStream` over the socket — on every
 * request, GETs included — even though a declared `Content-Length` is all it then checks. Here a
 * bodiless method or a declared length is checked from the headers (the body is then read once, by
 * its route, through the server's direct path); only a chunked body is counted as it streams.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export function limitBody(maxSize: number, onError: (c: Context) => never): MiddlewareHandler {
  const streamed = bodyLimit({ maxSize, onError });
  return (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) return Number.parseInt(declared, 10) > maxSize ? onError(c) : next();
    return streamed(c, next);
  };
}
