import { createRouter } from '../../lib/create-app';
import * as handlers from './retention.handlers';
import * as routes from './retention.routes';

export const retentionRouter = createRouter().openapi(routes.previewRetention, handlers.previewRetention);
