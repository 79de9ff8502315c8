import { createRouter } from '../../lib/create-app';
import * as handlers from './projects.handlers';
import * as routes from './projects.routes';

export const projectsRouter = createRouter()
  .openapi(routes.listProjects, handlers.listProjects)
  .openapi(routes.getProject, handlers.getProject)
  .openapi(routes.listBranches, handlers.listBranches);
