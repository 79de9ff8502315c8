import { canSeeProject } from '../../auth/principal';
import * as milestones from '../../domain/milestones/milestones';
import { notFound } from '../../lib/problem';
import type { AppRouteHandler } from '../../lib/types';
import type { DeleteMilestone, ListMilestones, SaveMilestone } from './milestones.routes';

export const listMilestones: AppRouteHandler<ListMilestones> = async (c) =>
  c.json(await milestones.readMilestones(c.var.db, c.req.valid('query').project), 200);

export const saveMilestone: AppRouteHandler<SaveMilestone> = async (c) => {
  const { project, key, milestone, delete: isDelete } = c.req.valid('json');
  if (isDelete || !milestone) return c.json(await milestones.deleteMilestone(c.var.db, project, key), 200);
  // A milestone protects the commit of the project it names: only one the caller can see.
  if (milestone.project !== undefined && !canSeeProject(c.var.caller, milestone.project)) throw notFound(`Sorry, there is no project ${milestone.project}.`);
  return c.json(await milestones.saveMilestone(c.var.db, project, key, milestone), 200);
};

export const deleteMilestone: AppRouteHandler<DeleteMilestone> = async (c) => {
  const { project, key } = c.req.valid('json');
  return c.json(await milestones.deleteMilestone(c.var.db, project, key), 200);
};
