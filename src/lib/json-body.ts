/**
 * The JSON body of a write, parsed once: Hono caches it, so route validators reuse this parse.
 * `undefined` when the request has no JSON body or it doesn't parse (the route's validator answers that).
 */
import type { Context } from 'hono';

const JSON_TYPE = /^application\/([a-z-.]+\+)?json/i;

export async function jsonBodyOf(c: Context): Promise<unknown> {
  if (c.req.method === 'GET' || c.req.method === 'HEAD' || !JSON_TYPE.test(c.req.header('content-type') ?? '')) return undefined;
  try {
    return await c.req.json();
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error; // e.g. the body limit tripped while reading
  }
}
