/**
 * Writes name their project in the JSON body (`project`, as the qa CLI sends it): a token restricted
 * to a project prefix gets 404 for any other project, as for reads — no hint whether it exists.
 */
import type { MiddlewareHandler } from 'hono';
import { jsonBodyOf } from '../lib/json-body';
import { notFound } from '../lib/problem';
import type { AppBindings } from '../lib/types';
import { canSeeProject } from './principal';

export const restrictBodyProject: MiddlewareHandler<AppBindings> = async (c, next) => {
  if (c.var.caller.projectPrefix === null) return next();
  const body = jsonBodyOf(c);
  const project = body && typeof body === 'object' ? (body as { project?: unknown }).project : undefined;
  if (typeof project === 'string' && !canSeeProject(c.var.caller, project)) throw notFound(`Sorry, there is no project ${project}.`);
  return next();
};
