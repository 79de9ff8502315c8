/** The QA-Board API, the same for every runtime: entries only choose how to reach the database. */
import { createApp, type AppOptions } from './lib/create-app';
import { commitsRouter } from './routes/commits/commits.index';
import { ingestRouter } from './routes/ingest/ingest.index';
import { outputsRouter } from './routes/outputs/outputs.index';
import { projectsRouter } from './routes/projects/projects.index';

export function buildApp(options: AppOptions) {
  const app = createApp(options);
  app.route('/', ingestRouter).route('/', commitsRouter).route('/', projectsRouter).route('/', outputsRouter);
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'QA-Board Edge API',
      version: '1.0.0',
      description: 'The QA-Board v1 API: ingestion from the qa CLI, reads for the web app.',
    },
  });
  return app;
}
