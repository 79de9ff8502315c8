import { createRouter } from '../../lib/create-app';
import * as handlers from './commits.handlers';
import * as routes from './commits.routes';

export const commitsRouter = createRouter()
  .openapi(routes.saveArtifacts, handlers.saveArtifacts)
  .openapi(routes.requestTuning, handlers.requestTuning)
  .openapi(routes.deleteCommitBatches, handlers.deleteCommitBatches)
  .openapi(routes.deleteProjectCommitBatches, handlers.deleteProjectCommitBatches)
  .openapi(routes.getCommitById, handlers.getCommitById)
  .openapi(routes.getCommit, handlers.getCommit)
  .openapi(routes.listCommits, handlers.listCommits)
  .openapi(routes.listBranchCommits, handlers.listBranchCommits);
