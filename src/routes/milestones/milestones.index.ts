import { createRouter } from '../../lib/create-app';
import * as handlers from './milestones.handlers';
import * as routes from './milestones.routes';

export const milestonesRouter = createRouter()
  .openapi(routes.listMilestones, handlers.listMilestones)
  .openapi(routes.saveMilestone, handlers.saveMilestone)
  .openapi(routes.deleteMilestone, handlers.deleteMilestone);
