import { createRouter } from '../../lib/create-app';
import * as handlers from './compare.handlers';
import * as routes from './compare.routes';

export const compareRouter = createRouter()
  .openapi(routes.compareCommit, handlers.compareCommit)
  .openapi(routes.getVerdict, handlers.getVerdict);
