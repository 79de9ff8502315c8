import { canSeeProject } from '../../auth/principal';
import * as projects from '../../domain/read/projects';
import type { AppRouteHandler } from '../../lib/types';
import type { GetProject, ListBranches, ListProjects } from './projects.routes';

export const listProjects: AppRouteHandler<ListProjects> = async (c) =>
  c.json(await projects.listProjects(c.var.db, (project) => canSeeProject(c.var.caller, project)), 200);

export const getProject: AppRouteHandler<GetProject> = async (c) =>
  c.json(await projects.readProjectData(c.var.db, c.req.valid('query').project), 200);

export const listBranches: AppRouteHandler<ListBranches> = async (c) =>
  c.json(await projects.listBranches(c.var.db, c.req.valid('query').project), 200);
