import { canSeeProject } from '../../auth/principal';
import { readOutput } from '../../domain/read/outputs';
import type { AppRouteHandler } from '../../lib/types';
import type { GetOutput } from './outputs.routes';

export const getOutput: AppRouteHandler<GetOutput> = async (c) =>
  c.json(await readOutput(c.var.db, c.req.valid('param').id, (project) => canSeeProject(c.var.caller, project)), 200);
