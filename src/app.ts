/** The QA-Board API, the same for every runtime: entries only choose how to reach the database. */
import { apiReferencePage } from './lib/api-reference';
import { createApp, type AppOptions } from './lib/create-app';
import { commitsRouter } from './routes/commits/commits.index';
import { ingestRouter } from './routes/ingest/ingest.index';
import { outputsRouter } from './routes/outputs/outputs.index';
import { projectsRouter } from './routes/projects/projects.index';
import { retentionRouter } from './routes/retention/retention.index';
import { tokensRouter } from './routes/tokens/tokens.index';
import { webhooksRouter } from './routes/webhooks/webhooks.index';

export const OPENAPI_PATH = '/api/openapi.json';

export function buildApp(options: AppOptions) {
  const app = createApp(options);
  app.route('/', ingestRouter).route('/', commitsRouter).route('/', projectsRouter).route('/', outputsRouter).route('/', webhooksRouter).route('/', tokensRouter).route('/', retentionRouter);
  // Tokens go as Bearer, or as the HTTP Basic password (the qa CLI's `user:token@host`). `{}`: open mode needs none.
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerToken', { type: 'http', scheme: 'bearer' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'basicToken', {
    type: 'http',
    scheme: 'basic',
    description: 'Any user name; the API token as password.',
  });
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'QA-Board Edge API',
      version: '1.0.0',
      description: 'The QA-Board v1 API: ingestion from the qa CLI, reads for the web app.',
    },
    security: [{ bearerToken: [] }, { basicToken: [] }, {}],
  });
  app.get('/api/docs', apiReferencePage(OPENAPI_PATH));
  return app;
}
