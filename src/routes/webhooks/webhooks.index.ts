import { createRouter } from '../../lib/create-app';
import * as handlers from './webhooks.handlers';
import * as routes from './webhooks.routes';

export const webhooksRouter = createRouter()
  .openapi(routes.gitlabPush, handlers.gitlabPush)
  .openapi(routes.gitlabPushV1, handlers.gitlabPush);
