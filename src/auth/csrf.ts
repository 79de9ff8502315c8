/**
 * Cross-site request forgery: a browser sends the session cookie with requests any page makes, so
 * a write carried by the cookie must prove it comes from the web app — the original web app,
 * unchanged:
 * - its `Origin` (or, without one, its `Referer`'s origin) is the API's own (PUBLIC_URL's, or the
 *   request's) or one of CORS_ORIGINS — pages elsewhere can't forge it;
 * - and it is a request no page can send cross-site without a CORS preflight (which only
 *   CORS_ORIGINS pass): a PUT, PATCH or DELETE, or a POST of JSON — what the web app sends for its
 *   writes (`Content-Type: application/json`), unlike the forms and plain text other sites may post.
 *   `X-Requested-With` (any value) counts too, for clients that post something else.
 * The sign-in, sign-up and sign-out forms (multipart, as the web app posts them) rely on the origin
 * check alone (login CSRF). A Bearer header (API tokens, CI id_tokens) is no ambient credential: a
 * page must hold the token to send it. HTTP Basic is: a browser that once had it typed in resends it
 * by itself to any page's requests, like a cookie — so a Basic write that carries a browser's marks
 * (`Origin`, `Sec-Fetch-Site`) gets the cookie's checks. The qa CLI (`ci:<token>@host`) sends neither.
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ApiError } from '../lib/problem';
import type { AppBindings } from '../lib/types';

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];
const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

export const isUnsafeMethod = (method: string) => !SAFE_METHODS.includes(method);

export function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** Throws 403 unless the request's origin is the API's own or the web app's. */
function requireAllowedOrigin(c: Context<AppBindings>): void {
  const { config } = c.var;
  const allowed = [...config.corsOrigins, originOf(config.publicUrl), originOf(c.req.url)];
  const origin = c.req.header('origin') ?? originOf(c.req.header('referer'));
  if (!origin || !allowed.includes(origin)) {
    throw new ApiError(403, `Cross-site request refused: ${origin ? `origin ${origin} is not allowed` : 'no Origin header'} (CORS_ORIGINS).`);
  }
}

/** Whether a browser would have asked a CORS preflight before sending it cross-site. */
const needsPreflight = (c: Context) =>
  c.req.method !== 'POST' || JSON_TYPE.test(c.req.header('content-type') ?? '') || c.req.header('x-requested-with') !== undefined;

/** Throws 403 unless a cookie-authenticated write comes from the web app (see above). */
export function requireSameSiteRequest(c: Context<AppBindings>): void {
  requireAllowedOrigin(c);
  if (!needsPreflight(c)) {
    throw new ApiError(403, 'Cross-site request refused: a write with a session cookie must be JSON (Content-Type: application/json).');
  }
}

/** The sign-in forms check their origin whatever the credential (login CSRF). */
export const requireSameSite = createMiddleware<AppBindings>(async (c, next) => {
  requireAllowedOrigin(c);
  await next();
});

/** Whether a request carries credentials a browser may have sent by itself: HTTP Basic, from a browser. */
export const isBrowserBasicAuth = (c: Context): boolean =>
  /^\s*basic\s/i.test(c.req.header('authorization') ?? '') && (c.req.header('origin') !== undefined || c.req.header('sec-fetch-site') !== undefined);
