/**
 * The credential a request presents:
 * - `Authorization: Bearer <token>`, or HTTP Basic with the token as password — what the qa CLI
 *   sends for `QABOARD_HOST=user:token@host` (it can't set other headers). `token@host` (no
 *   password) puts the token in the user name: accepted too. A token shaped as a JWT is a GitLab CI
 *   `id_token`; anything else an API token.
 * - else the web app's session cookie (browsers send it by themselves).
 * An Authorization header we can't read is `malformed`, never "no credential": it is refused.
 * An Authorization header wins over the cookie: API clients are never subject to cookie rules (CSRF).
 */
export type PresentedCredential =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'id-token'; jwt: string }
  | { kind: 'session'; secret: string }
  | { kind: 'malformed' };

/** The session cookie: `__Host-` makes browsers refuse it unless Secure, Path=/ and set by this host. */
export const SESSION_COOKIE = '__Host-qaboard-session';

const NONE: PresentedCredential = { kind: 'none' };
const MALFORMED: PresentedCredential = { kind: 'malformed' };

/** Three base64url parts, the header starting with `{"` (`eyJ`). The signature may be empty (`alg: none`): refused later, as a JWT. */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export const looksLikeJwt = (token: string) => JWT_SHAPE.test(token);

function basicToken(value: string): string | undefined {
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  const [user, password] = colon === -1 ? [decoded, ''] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
  return password || user || undefined;
}

function authorizationCredential(authorization: string): PresentedCredential {
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(authorization);
  if (!match) return MALFORMED;
  const [, scheme, value] = match as unknown as [string, string, string];
  const token = /^bearer$/i.test(scheme) ? value : /^basic$/i.test(scheme) ? basicToken(value) : undefined;
  if (!token) return MALFORMED;
  return looksLikeJwt(token) ? { kind: 'id-token', jwt: token } : { kind: 'token', token };
}

/** The value of one cookie of a `Cookie` header (the first, when a name repeats). */
export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const pair of cookieHeader.split(';')) {
    const equals = pair.indexOf('=');
    if (equals !== -1 && pair.slice(0, equals).trim() === name) return pair.slice(equals + 1).trim() || undefined;
  }
  return undefined;
}

export function presentedCredential(authorization: string | undefined, cookieHeader?: string): PresentedCredential {
  if (authorization !== undefined) return authorizationCredential(authorization);
  const secret = cookieValue(cookieHeader, SESSION_COOKIE);
  return secret ? { kind: 'session', secret } : NONE;
}
