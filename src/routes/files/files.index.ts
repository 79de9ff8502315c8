import { createRouter } from '../../lib/create-app';
import * as handlers from './files.handlers';
import * as routes from './files.routes';

export const filesRouter = createRouter()
  .openapi(routes.uploadOutputFile, handlers.uploadOutputFile)
  .openapi(routes.signOutputFileUploads, handlers.signOutputFileUploads)
  .openapi(routes.getOutputManifest, handlers.getOutputManifest)
  .openapi(routes.serveFile, handlers.serveFile);
