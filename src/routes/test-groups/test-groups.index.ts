import { createRouter } from '../../lib/create-app';
import * as handlers from './test-groups.handlers';
import * as routes from './test-groups.routes';

export const testGroupsRouter = createRouter()
  .openapi(routes.readTestGroups, handlers.readTestGroups)
  .openapi(routes.saveTestGroups, handlers.saveTestGroups)
  .openapi(routes.previewTestGroup, handlers.previewTestGroup);
