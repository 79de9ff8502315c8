/**
 * Who is calling, and what they may reach. A credential (API token, session, CI id_token) is
 * verified into a `Principal`: its grants, each a set of scopes on a project prefix. An API token
 * has one grant; a GitLab user one per project they are a member of, with the scope their role maps
 * to. The authenticate middleware sets a `Caller` on `c.var.caller`: the principal and the scope the
 * request needs, so that every project check asks "may this request act on that project?".
 */
import { ApiError, notFound } from '../lib/problem';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Grant {
  /** Projects equal to this prefix or under it (see `projectWithin`). `null`: every project. */
  projectPrefix: string | null;
  scopes: readonly Scope[];
}

export interface Principal {
  /** `token:<id>`, `admin:bootstrap`, `user:<id>`, `ci:<project path>`, or `anonymous`. */
  id: string;
  grants: readonly Grant[];
}

export interface Caller extends Principal {
  /** The scope the request needs: `read` for GET/HEAD, `write` for other methods, `admin` for admin routes. */
  acting: Scope;
}

export const anonymousPrincipal = (scopes: readonly Scope[]): Principal => ({ id: 'anonymous', grants: [{ projectPrefix: null, scopes }] });

/** A principal with one grant: what API tokens, local users and the bootstrap admin are. */
export const singleGrant = (id: string, scopes: readonly Scope[], projectPrefix: string | null): Principal => ({
  id,
  grants: [{ projectPrefix, scopes }],
});

/** `admin` implies `write`, which implies `read`: the qa CLI reads back what it wrote with one token. */
const IMPLIED: Record<Scope, Scope[]> = { read: ['read'], write: ['read', 'write'], admin: ['read', 'write', 'admin'] };

export const scopesImply = (scopes: readonly Scope[], needed: Scope) => scopes.some((scope) => IMPLIED[scope].includes(needed));

/** Whether the principal holds `needed` on some project (the route-level check; projects are checked next). */
export const hasScope = (principal: Principal, needed: Scope) => principal.grants.some((grant) => scopesImply(grant.scopes, needed));

/**
 * Whether a project lies within a prefix. Prefixes match whole path segments: `group/repo`
 * reaches `group/repo` and `group/repo/sub`, not `group/repo2`; `group/` reaches everything in `group`.
 */
export function projectWithin(prefix: string | null, projectId: string): boolean {
  if (prefix === null) return true;
  if (prefix.endsWith('/')) return projectId.startsWith(prefix);
  return projectId === prefix || projectId.startsWith(`${prefix}/`);
}

/** Whether every project `inner` reaches is within `outer` (`null`: every project). */
export const prefixWithin = (inner: string | null, outer: string | null) => outer === null || (inner !== null && projectWithin(outer, inner));

/** The grants that let the request act: those holding the scope it needs. */
export const actingGrants = (caller: Caller) => caller.grants.filter((grant) => scopesImply(grant.scopes, caller.acting));

/**
 * Whether the request may act on a project: a grant covers it with the scope the request needs.
 * Other projects are invisible to it (404, as if they did not exist) — so a by-id write checked
 * with this is refused on a project the caller may only read.
 */
export const canSeeProject = (caller: Caller, projectId: string) =>
  actingGrants(caller).some((grant) => projectWithin(grant.projectPrefix, projectId));

/** Whether the caller reaches every project with the scope the request needs. */
export const reachesEveryProject = (caller: Caller) => actingGrants(caller).some((grant) => grant.projectPrefix === null);

/** A project the request may not act on: 404 when the caller can't see it at all, 403 when it only may read it. */
export const projectAccess = (caller: Caller, projectId: string): 'granted' | 'read-only' | 'invisible' =>
  canSeeProject(caller, projectId) ? 'granted' : canSeeProject({ ...caller, acting: 'read' }, projectId) ? 'read-only' : 'invisible';

/** Refuses a request naming a project it may not act on (see `projectAccess`). */
export function requireProjectAccess(caller: Caller, projectId: string): void {
  const access = projectAccess(caller, projectId);
  if (access === 'invisible') throw notFound(`Sorry, there is no project ${projectId}.`);
  if (access === 'read-only') throw new ApiError(403, `This credential may only read project ${projectId}; this request needs \`${caller.acting}\`.`);
}
