import { createRouter } from '../../lib/create-app';
import * as handlers from './outputs.handlers';
import * as routes from './outputs.routes';

export const outputsRouter = createRouter()
  .openapi(routes.getOutput, handlers.getOutput)
  .openapi(routes.updateOutput, handlers.updateOutput)
  .openapi(routes.deleteOutput, handlers.deleteOutput)
  .openapi(routes.redoOutput, handlers.redoOutput);
