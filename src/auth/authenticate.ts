/**
 * Access control for every route, present and future, keyed on method and path — not per handler:
 * reads (GET/HEAD) need `read`, other methods `write`, admin routes `admin`. AUTH_MODE decides
 * what callers without a token may do. A presented credential is always verified, in every mode:
 * unknown, revoked or unreadable → 401. Public routes (declared by their contracts) skip this.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { AppConfig } from '../config';
import { addressKey } from '../lib/client-address';
import { ApiError, notFound } from '../lib/problem';
import type { RouteMatcher } from '../lib/route-matcher';
import { routingPath } from '../lib/routing-path';
import type { AppBindings } from '../lib/types';
import { presentedCredential } from './credentials';
import { anonymousCaller, canSeeProject, hasScope, type Caller, type Scope } from './principal';
import { callerOfToken } from './tokens';

/** What a caller without a token may do in each mode (never `admin`). */
const ANONYMOUS_SCOPES: Record<AppConfig['authMode'], Scope[]> = { open: ['write'], write: ['read'], all: [] };

export const BOOTSTRAP_ADMIN: Caller = { id: 'admin:bootstrap', scopes: ['admin'], projectPrefix: null };

async function callerOf(c: Context<AppBindings>, token: string): Promise<Caller | undefined> {
  const { db, config, knownCallers, databaseCircuit } = c.var;
  if (config.adminToken && (await timingSafeEqual(token, config.adminToken))) return BOOTSTRAP_ADMIN;
  return callerOfToken(db, token, knownCallers, databaseCircuit.state === 'open');
}

const unauthorized = (detail: string) =>
  new ApiError(401, detail, { headers: { 'www-authenticate': 'Bearer realm="qaboard", Basic realm="qaboard"' } });

export interface AccessRoutes {
  /** Routes that authenticate otherwise (GitLab's `X-Gitlab-Token`) or describe the API. */
  isPublic: RouteMatcher;
  /** Routes that need the `admin` scope. */
  isAdmin: RouteMatcher;
}

export const authenticate =
  ({ isPublic, isAdmin }: AccessRoutes): MiddlewareHandler<AppBindings> =>
  async (c, next) => {
    const method = c.req.method;
    const path = routingPath(c.req.raw);
    if (method === 'OPTIONS' || isPublic(method, path)) {
      c.set('caller', anonymousCaller([]));
      return next();
    }
    const { config, failedAuthGuard, clientAddress } = c.var;
    const credential = presentedCredential(c.req.header('authorization'));
    let caller: Caller | undefined;
    if (credential.kind === 'none') caller = anonymousCaller(ANONYMOUS_SCOPES[config.authMode]);
    else {
      const address = addressKey(clientAddress);
      failedAuthGuard.checkNotBlocked(address);
      if (credential.kind === 'token') caller = await callerOf(c, credential.token);
      if (!caller) {
        throw (
          (await failedAuthGuard.recordFailure(address)) ??
          unauthorized(credential.kind === 'malformed' ? 'The Authorization header is not a Bearer or Basic credential.' : 'The token is unknown or revoked.')
        );
      }
    }
    const needed: Scope = isAdmin(method, path) ? 'admin' : method === 'GET' || method === 'HEAD' ? 'read' : 'write';
    if (!hasScope(caller, needed)) {
      if (credential.kind === 'none') throw unauthorized(`This request needs a token with the \`${needed}\` scope (Bearer, or HTTP Basic with the token as password).`);
      throw new ApiError(403, `This token lacks the \`${needed}\` scope.`);
    }
    c.set('caller', caller);
    const project = c.req.query('project');
    if (project !== undefined && !canSeeProject(caller, project)) throw notFound(`Sorry, there is no project ${project}.`);
    return next();
  };
