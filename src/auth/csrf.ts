/**
 * Cross-site request forgery: a browser sends the session cookie with requests any page makes, so
 * a write carried by the cookie must prove it comes from the web app:
 * - its `Origin` (or, without one, its `Referer`'s origin) is the API's own (PUBLIC_URL's, or the
 *   request's) or one of CORS_ORIGINS — pages elsewhere can't forge it;
 * - it carries `X-Requested-With` (the web app sends `X-Requested-With: XMLHttpRequest`): a
 *   cross-site form can't set headers, and a cross-site script can't without a CORS preflight,
 *   which only CORS_ORIGINS pass.
 * Requests with an Authorization header (API tokens, CI id_tokens) carry no ambient credential and
 * are not concerned.
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ApiError } from '../lib/problem';
import type { AppBindings } from '../lib/types';

export const CSRF_HEADER = 'X-Requested-With';

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];

export const isUnsafeMethod = (method: string) => !SAFE_METHODS.includes(method);

export function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** Throws 403 unless the request comes from the web app (see above). */
export function requireSameSiteRequest(c: Context<AppBindings>): void {
  const { config } = c.var;
  const allowed = [...config.corsOrigins, originOf(config.publicUrl), originOf(c.req.url)];
  const origin = c.req.header('origin') ?? originOf(c.req.header('referer'));
  if (!origin || !allowed.includes(origin)) {
    throw new ApiError(403, `Cross-site request refused: ${origin ? `origin ${origin} is not allowed` : 'no Origin header'} (CORS_ORIGINS).`);
  }
  if (!c.req.header(CSRF_HEADER)) throw new ApiError(403, `Cross-site request refused: the \`${CSRF_HEADER}\` header is missing.`);
}

/** Routes that set or end a session from a browser form check their origin whatever the credential (login CSRF). */
export const requireSameSite = createMiddleware<AppBindings>(async (c, next) => {
  requireSameSiteRequest(c);
  await next();
});
