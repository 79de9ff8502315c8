import { createRouter } from '../../lib/create-app';
import * as handlers from './ingest.handlers';
import * as routes from './ingest.routes';

export const ingestRouter = createRouter()
  .openapi(routes.postOutput, handlers.postOutput)
  .openapi(routes.postBatch, handlers.postBatch)
  .openapi(routes.postCommit, handlers.postCommit)
  .openapi(routes.postCommitById, handlers.postCommitById)
  .openapi(routes.postBulkOutputs, handlers.postBulkOutputs);
