import { createRouter } from '../../lib/create-app';
import * as handlers from './batches.handlers';
import * as routes from './batches.routes';

export const batchesRouter = createRouter()
  .openapi(routes.stopBatch, handlers.stopBatch)
  .openapi(routes.redoBatch, handlers.redoBatch)
  .openapi(routes.renameBatch, handlers.renameBatch)
  .openapi(routes.moveBatch, handlers.moveBatch)
  .openapi(routes.deleteBatch, handlers.deleteBatch);
