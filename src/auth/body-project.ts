/**
 * Writes name their project in the JSON body (`project`, as the qa CLI sends it; in each item of a
 * bulk upload): each is checked as `?project=` is — 404 for a project the caller can't see (no hint
 * whether it exists), 403 for one it may only read.
 */
import type { MiddlewareHandler } from 'hono';
import { jsonBodyOf } from '../lib/json-body';
import type { AppBindings } from '../lib/types';
import { reachesEveryProject, requireProjectAccess } from './principal';

const projectOf = (value: unknown) => (value && typeof value === 'object' ? (value as { project?: unknown }).project : undefined);

/** The projects a body names: its own `project`, and its items' (an array, or a bulk upload's `outputs`). */
function projectsNamedBy(body: unknown): string[] {
  const outputs = body && typeof body === 'object' && !Array.isArray(body) ? (body as { outputs?: unknown }).outputs : undefined;
  const items = Array.isArray(body) ? body : [body, ...(Array.isArray(outputs) ? outputs : [])];
  return items.map(projectOf).filter((p): p is string => typeof p === 'string');
}

export const restrictBodyProject: MiddlewareHandler<AppBindings> = async (c, next) => {
  const caller = c.get('caller');
  if (reachesEveryProject(caller)) return next();
  for (const project of projectsNamedBy(jsonBodyOf(c))) requireProjectAccess(caller, project);
  return next();
};
