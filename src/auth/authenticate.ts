/**
 * Access control for every route, present and future, keyed on method and path — not per handler:
 * reads (GET/HEAD) need `read`, other methods `write`, admin routes `admin`. AUTH_MODE decides
 * what callers without a credential may do. A presented API token or CI id_token is always
 * verified, in every mode: unknown, revoked, invalid or unreadable → 401. A session cookie that no
 * longer opens a session is cleared and the request goes on as anonymous (browsers keep sending
 * stale cookies); a live one is a credential like a token, and its writes must pass the CSRF check.
 * Public routes (declared by their contracts) skip this.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { AppConfig } from '../config';
import { addressKey } from '../lib/client-address';
import { ApiError } from '../lib/problem';
import type { RouteMatcher } from '../lib/route-matcher';
import { routingPath } from '../lib/routing-path';
import type { AppBindings } from '../lib/types';
import { IdTokenRefused, principalOfIdToken } from './ci-id-tokens';
import { presentedCredential, type PresentedCredential } from './credentials';
import { isBrowserBasicAuth, isUnsafeMethod, requireSameSiteRequest } from './csrf';
import { anonymousPrincipal, hasScope, requireProjectAccess, singleGrant, type Caller, type Principal, type Scope } from './principal';
import { clearedSessionCookie, signedInUser } from './sessions';
import { principalOfToken } from './tokens';

/** What a caller without a credential may do in each mode (never `admin`). */
export const ANONYMOUS_SCOPES: Record<AppConfig['authMode'], Scope[]> = { open: ['write'], write: ['read'], all: [] };

export const BOOTSTRAP_ADMIN: Principal = singleGrant('admin:bootstrap', ['admin'], null);

const unauthorized = (detail: string) =>
  new ApiError(401, detail, { headers: { 'www-authenticate': 'Bearer realm="qaboard", Basic realm="qaboard"' } });

export interface AccessRoutes {
  /** Routes that authenticate otherwise (GitLab's `X-Gitlab-Token`, sign-in) or describe the API. */
  isPublic: RouteMatcher;
  /** Routes that need the `admin` scope. */
  isAdmin: RouteMatcher;
  /** POST routes that only read (the web app posts some queries): they need `read`, not `write`. */
  isReadOnly: RouteMatcher;
}

/** The principal of a bearer credential (API token or CI id_token); a refusal when it isn't valid. */
async function principalOfBearer(c: Context<AppBindings>, credential: PresentedCredential): Promise<Principal | string> {
  const { db, config, keySets, knownCallers, databaseCircuit } = c.var;
  if (credential.kind === 'malformed') return 'The Authorization header is not a Bearer or Basic credential.';
  if (credential.kind === 'id-token') {
    if (!config.ciIdTokens) return 'CI id_tokens are not accepted by this server (it needs GITLAB_URL and PUBLIC_URL).';
    try {
      return await principalOfIdToken(config.ciIdTokens, keySets, credential.jwt);
    } catch (error) {
      if (error instanceof IdTokenRefused) return error.message;
      throw error;
    }
  }
  if (credential.kind !== 'token') throw new Error(`not a bearer credential: ${credential.kind}`);
  if (config.adminToken && (await timingSafeEqual(credential.token, config.adminToken))) return BOOTSTRAP_ADMIN;
  return (await principalOfToken(db, credential.token, knownCallers, databaseCircuit.state === 'open')) ?? 'The token is unknown or revoked.';
}

/** Who the request is: anonymous, a session's user, or a verified bearer credential. */
async function principalOf(c: Context<AppBindings>, credential: PresentedCredential): Promise<Principal> {
  const config = c.get('config');
  if (credential.kind === 'none') return anonymousPrincipal(ANONYMOUS_SCOPES[config.authMode]);
  if (credential.kind === 'session') {
    const signedIn = await signedInUser(c.var, credential.secret);
    if (!signedIn) {
      c.header('set-cookie', clearedSessionCookie(), { append: true });
      return anonymousPrincipal(ANONYMOUS_SCOPES[config.authMode]);
    }
    if (isUnsafeMethod(c.req.method)) requireSameSiteRequest(c);
    return signedIn.principal;
  }
  const { failedAuthGuard, clientAddress } = c.var;
  const address = addressKey(clientAddress);
  failedAuthGuard.checkNotBlocked(address);
  const principal = await principalOfBearer(c, credential);
  if (typeof principal === 'string') throw (await failedAuthGuard.recordFailure(address)) ?? unauthorized(principal);
  if (isUnsafeMethod(c.req.method) && isBrowserBasicAuth(c)) requireSameSiteRequest(c);
  return principal;
}

/** The request's caller, holding the `needed` scope somewhere (401 without a credential that does, 403 with one that lacks it). */
export async function callerOf(c: Context<AppBindings>, needed: Scope): Promise<Caller> {
  const principal = await principalOf(c, presentedCredential(c.req.header('authorization'), c.req.header('cookie')));
  if (!hasScope(principal, needed)) {
    if (principal.id === 'anonymous') throw unauthorized(`This request needs a credential with the \`${needed}\` scope (Bearer, or HTTP Basic with the token as password).`);
    throw new ApiError(403, `This credential lacks the \`${needed}\` scope.`);
  }
  return { ...principal, acting: needed };
}

export const authenticate =
  ({ isPublic, isAdmin, isReadOnly }: AccessRoutes): MiddlewareHandler<AppBindings> =>
  async (c, next) => {
    const method = c.req.method;
    const path = routingPath(c.req.raw);
    if (method === 'OPTIONS' || isPublic(method, path)) {
      c.set('caller', { ...anonymousPrincipal([]), acting: 'read' });
      return next();
    }
    const reads = method === 'GET' || method === 'HEAD' || isReadOnly(method, path);
    const caller = await callerOf(c, isAdmin(method, path) ? 'admin' : reads ? 'read' : 'write');
    c.set('caller', caller);
    const project = c.req.query('project');
    if (project !== undefined) requireProjectAccess(caller, project);
    return next();
  };
