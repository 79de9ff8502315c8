import { createRouter } from '../../lib/create-app';
import * as handlers from './ingestions.handlers';
import * as routes from './ingestions.routes';

export const ingestionsRouter = createRouter().openapi(routes.getIngestion, handlers.getIngestion);
