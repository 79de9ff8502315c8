/** Who is calling, and what they may reach. Set on `c.var.caller` by the authenticate middleware. */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Caller {
  /** `token:<id>`, `admin:bootstrap`, or `anonymous` (open mode, or reads in write mode). */
  id: string;
  scopes: readonly Scope[];
  /** Projects outside this prefix are invisible to the caller (404). `null`: every project. */
  projectPrefix: string | null;
}

export const anonymousCaller = (scopes: readonly Scope[]): Caller => ({ id: 'anonymous', scopes, projectPrefix: null });

/** `admin` implies `write`, which implies `read`: the qa CLI reads back what it wrote with one token. */
const IMPLIED: Record<Scope, Scope[]> = { read: ['read'], write: ['read', 'write'], admin: ['read', 'write', 'admin'] };

export function hasScope(caller: Caller, needed: Scope): boolean {
  return caller.scopes.some((scope) => IMPLIED[scope].includes(needed));
}

/**
 * Whether a project lies within a prefix. Prefixes match whole path segments: `group/repo`
 * reaches `group/repo` and `group/repo/sub`, not `group/repo2`; `group/` reaches everything in `group`.
 */
export function projectWithin(prefix: string | null, projectId: string): boolean {
  if (prefix === null) return true;
  if (prefix.endsWith('/')) return projectId.startsWith(prefix);
  return projectId === prefix || projectId.startsWith(`${prefix}/`);
}

export const canSeeProject = (caller: Caller, projectId: string) => projectWithin(caller.projectPrefix, projectId);

/** Whether every project `inner` reaches is within `outer` (`null`: every project). */
export const prefixWithin = (inner: string | null, outer: string | null) => outer === null || (inner !== null && projectWithin(outer, inner));
