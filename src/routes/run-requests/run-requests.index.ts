import { createRouter } from '../../lib/create-app';
import * as handlers from './run-requests.handlers';
import * as routes from './run-requests.routes';

export const runRequestsRouter = createRouter()
  .openapi(routes.listRunRequests, handlers.listRunRequests)
  .openapi(routes.getRunRequest, handlers.getRunRequest)
  .openapi(routes.cancelRunRequest, handlers.cancelRunRequest);
