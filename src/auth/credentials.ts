/**
 * The credential a request presents: `Authorization: Bearer <token>`, or HTTP Basic with the token
 * as password — what the qa CLI sends for `QABOARD_HOST=user:token@host` (it can't set other
 * headers). `token@host` (no password) puts the token in the user name: accepted too.
 * An Authorization header we can't read is `malformed`, never "no credential": it is refused.
 */
export type PresentedCredential = { kind: 'none' } | { kind: 'token'; token: string } | { kind: 'malformed' };

const NONE: PresentedCredential = { kind: 'none' };
const MALFORMED: PresentedCredential = { kind: 'malformed' };

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

export function presentedCredential(authorization: string | undefined): PresentedCredential {
  if (authorization === undefined) return NONE;
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(authorization);
  if (!match) return MALFORMED;
  const [, scheme, value] = match as unknown as [string, string, string];
  const token = /^bearer$/i.test(scheme) ? value : /^basic$/i.test(scheme) ? basicToken(value) : undefined;
  return token ? { kind: 'token', token } : MALFORMED;
}
