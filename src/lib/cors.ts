/**
 * CORS for the configured origins (the web app's), with the headers of Hono's `cors`: preflights
 * are answered by it; other requests get the same headers set before the route answers, so that
 * they are part of its response as it is built. Hono's `cors` sets them on `c.res` (a response made
 * early, later copied onto the route's) and appends `Vary` afterwards: on the Node entry either
 * turns @hono/node-server's light response into a web `Response` streamed out — about a tenth of a
 * small upload's CPU. A route answering with a `Response` of its own gets them afterwards, as before.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

export interface CorsOptions {
  origins: (c: Context) => string[];
  credentials: (c: Context) => boolean;
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: number;
}

export function corsHeaders(options: CorsOptions): MiddlewareHandler {
  const exposed = options.exposeHeaders.join(',');
  const headersOf = (c: Context): [string, string][] => {
    const origin = c.req.header('origin') || '';
    return [
      ...(options.origins(c).includes(origin) ? [['Access-Control-Allow-Origin', origin] as [string, string]] : []),
      ...(options.credentials(c) ? [['Access-Control-Allow-Credentials', 'true'] as [string, string]] : []),
      ['Access-Control-Expose-Headers', exposed],
    ];
  };
  const set = (c: Context, headers: [string, string][]) => {
    for (const [name, value] of headers) c.header(name, value);
    c.header('Vary', 'Origin', { append: true });
  };
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') {
      return cors({
        origin: (origin) => (options.origins(c).includes(origin) ? origin : null),
        credentials: options.credentials(c),
        allowHeaders: options.allowHeaders,
        exposeHeaders: options.exposeHeaders,
        maxAge: options.maxAge,
      })(c, next);
    }
    const headers = headersOf(c);
    set(c, headers);
    await next();
    if (!c.res.headers.has('Access-Control-Expose-Headers')) set(c, headers);
  };
}
