import { createRouter } from '../../lib/create-app';
import * as handlers from './gitlab.handlers';
import * as routes from './gitlab.routes';

export const gitlabRouter = createRouter()
  .openapi(routes.gitlabProxy, handlers.gitlabProxy)
  .openapi(routes.gitlabJob, handlers.gitlabJob)
  .openapi(routes.gitlabPlayJob, handlers.gitlabPlayJob);
