/**
 * Writes name their project in the JSON body (`project`, as the qa CLI sends it; in each item of a
 * bulk upload): a token restricted to a project prefix gets 404 for any other project, as for
 * reads — no hint whether it exists.
 */
import type { MiddlewareHandler } from 'hono';
import { jsonBodyOf } from '../lib/json-body';
import { notFound } from '../lib/problem';
import type { AppBindings } from '../lib/types';
import { canSeeProject } from './principal';

const projectOf = (value: unknown) => (value && typeof value === 'object' ? (value as { project?: unknown }).project : undefined);

/** The projects a body names: its own `project`, and its items' (an array, or a bulk upload's `outputs`). */
function projectsNamedBy(body: unknown): string[] {
  const outputs = body && typeof body === 'object' && !Array.isArray(body) ? (body as { outputs?: unknown }).outputs : undefined;
  const items = Array.isArray(body) ? body : [body, ...(Array.isArray(outputs) ? outputs : [])];
  return items.map(projectOf).filter((p): p is string => typeof p === 'string');
}

export const restrictBodyProject: MiddlewareHandler<AppBindings> = async (c, next) => {
  if (c.var.caller.projectPrefix === null) return next();
  for (const project of projectsNamedBy(jsonBodyOf(c))) {
    if (!canSeeProject(c.var.caller, project)) throw notFound(`Sorry, there is no project ${project}.`);
  }
  return next();
};
