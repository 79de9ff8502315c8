/**
 * Access control for every route, present and future, keyed on method and path — not per handler:
 * reads (GET/HEAD) need `read`, other methods `write`, token management `admin`. AUTH_MODE decides
 * what callers without a token may do. A presented token is always verified, in every mode.
 */
import type { MiddlewareHandler } from 'hono';
import { constantTimeEqual } from '../lib/constant-time';
import type { AppBindings } from '../lib/create-app';
import { ApiError, notFound } from '../lib/problem';
import { addressKey, enforceRateLimit } from '../lib/rate-limit';
import { routingPath } from '../lib/routing-path';
import type { AppConfig } from '../config';
import type { Db } from '../db/client';
import { presentedToken } from './credentials';
import { anonymousCaller, canSeeProject, hasScope, type Caller, type Scope } from './principal';
import { callerOfToken } from './tokens';

/** Routes that authenticate otherwise (GitLab sends its own `X-Gitlab-Token` secret) or describe the API. */
const PUBLIC_PATHS = new Set(['/webhook/gitlab', '/api/v1/webhook/gitlab', '/api/openapi.json', '/api/docs']);
const ADMIN_PATH_PREFIX = '/api/v1/tokens';

function requiredScope(method: string, path: string): Scope {
  if (path === ADMIN_PATH_PREFIX || path.startsWith(`${ADMIN_PATH_PREFIX}/`)) return 'admin';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** What a caller without a token may do in each mode (never `admin`). */
const ANONYMOUS_SCOPES: Record<AppConfig['authMode'], Scope[]> = { open: ['write'], write: ['read'], all: [] };

async function callerOf(db: Db, config: AppConfig, token: string): Promise<Caller | undefined> {
  if (config.adminToken && (await constantTimeEqual(token, config.adminToken))) {
    return { id: 'admin:bootstrap', scopes: ['admin'], projectPrefix: null };
  }
  return callerOfToken(db, token);
}

const unauthorized = (detail: string) => {
  const error = new ApiError(401, 'Unauthorized', detail);
  error.headers = { 'www-authenticate': 'Bearer realm="qaboard", Basic realm="qaboard"' };
  return error;
};

export const authenticate: MiddlewareHandler<AppBindings> = async (c, next) => {
  const path = routingPath(c.req.raw);
  if (c.req.method === 'OPTIONS' || PUBLIC_PATHS.has(path)) {
    c.set('caller', anonymousCaller([]));
    return next();
  }
  const { db, config } = c.var;
  const token = presentedToken(c.req.header('authorization'));
  const caller = token === undefined ? anonymousCaller(ANONYMOUS_SCOPES[config.authMode]) : await callerOf(db, config, token);
  if (!caller) {
    // Guessing tokens costs a database look-up each: limit failures by address (the rate limit proper needs a caller).
    await enforceRateLimit(c, addressKey(c));
    throw unauthorized('The token is unknown or revoked.');
  }
  const needed = requiredScope(c.req.method, path);
  if (!hasScope(caller, needed)) {
    if (token === undefined) throw unauthorized(`This request needs a token with the \`${needed}\` scope (Bearer, or HTTP Basic with the token as password).`);
    throw new ApiError(403, 'Forbidden', `This token lacks the \`${needed}\` scope.`);
  }
  c.set('caller', caller);
  const project = c.req.query('project');
  if (project !== undefined && !canSeeProject(caller, project)) throw notFound(`Sorry, there is no project ${project}.`);
  return next();
};
