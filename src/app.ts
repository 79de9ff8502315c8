/**
 * The QA-Board API, the same for every runtime: entries only provide the services (database,
 * queues, limiters). This is where the app is assembled — middleware in order, routes, documentation.
 */
import { authenticate } from './auth/authenticate';
import { restrictBodyProject } from './auth/body-project';
import { SESSION_COOKIE } from './auth/credentials';
import { limitRequests } from './auth/request-limits';
import { apiReferencePage } from './lib/api-reference';
import { limitBody } from './lib/body-limit';
import { corsHeaders } from './lib/cors';
import { createApp } from './lib/create-app';
import { checkJsonBody } from './lib/json-body';
import { ApiError } from './lib/problem';
import { routeMatcher } from './lib/route-matcher';
import { assertStaticRoutesWin } from './lib/route-order';
import { routingPath } from './lib/routing-path';
import type { AppOptions } from './lib/types';
import { checkUrlText } from './lib/url-text';
import { guardDatabase } from './ingestion/database-guard';
import { batchesRouter } from './routes/batches/batches.index';
import { commitsRouter } from './routes/commits/commits.index';
import { compareRouter } from './routes/compare/compare.index';
import { filesRouter } from './routes/files/files.index';
import { fileServingRoutes, fileUploadRoutes } from './routes/files/files.routes';
import { gitlabRouter } from './routes/gitlab/gitlab.index';
import { gitlabReadRoutes } from './routes/gitlab/gitlab.routes';
import { healthRouter } from './routes/health/health.index';
import { healthRoutes } from './routes/health/health.routes';
import { ingestRouter } from './routes/ingest/ingest.index';
import { bulkRoutes, ingestionRoutes } from './routes/ingest/ingest.routes';
import { ingestionsRouter } from './routes/ingestions/ingestions.index';
import { mountLeftBehind } from './routes/left-behind/left-behind';
import { milestonesRouter } from './routes/milestones/milestones.index';
import { MAX_BULK_BYTES } from './domain/ingest/bulk';
import { outputsRouter } from './routes/outputs/outputs.index';
import { projectsRouter } from './routes/projects/projects.index';
import { retentionRouter } from './routes/retention/retention.index';
import { runRequestsRouter } from './routes/run-requests/run-requests.index';
import { testGroupsRouter } from './routes/test-groups/test-groups.index';
import { tokensRouter } from './routes/tokens/tokens.index';
import { tokenRoutes } from './routes/tokens/tokens.routes';
import { usersRouter } from './routes/users/users.index';
import { userRoutes } from './routes/users/users.routes';
import { webhooksRouter } from './routes/webhooks/webhooks.index';
import { webhookRoutes } from './routes/webhooks/webhooks.routes';

export const OPENAPI_PATH = '/api/openapi.json';
const DOCS_PATH = '/api/docs';

const documentationRoutes = [
  { method: 'get', path: OPENAPI_PATH },
  { method: 'get', path: DOCS_PATH },
] as const;

/**
 * Routes that need no credential: they authenticate otherwise (the webhook's secret, signing in),
 * answer anyone (`/user/me`), or describe the service.
 */
const isPublic = routeMatcher([...webhookRoutes, ...userRoutes, ...healthRoutes, ...documentationRoutes, ...fileServingRoutes]);
/** File uploads: bodies are files (their own size limit, FILES_MAX_BYTES), never parsed as JSON. */
const isFileUpload = routeMatcher(fileUploadRoutes);
const isIngestion = routeMatcher(ingestionRoutes);
/** Routes that don't wait on a known-down database: uploads spool, health probes it, the docs don't need it. */
const spareTheDatabaseCircuit = routeMatcher([...ingestionRoutes, ...webhookRoutes, ...healthRoutes, ...documentationRoutes]);
const isBulk = routeMatcher(bulkRoutes);

export function buildApp(options: AppOptions) {
  const app = createApp(options);
  app.use(checkUrlText);
  // Browsers get CORS headers only for the configured origins (the web app's); preflights answer before auth.
  app.use(
    corsHeaders({
      origins: (c) => c.get('config').corsOrigins,
      credentials: (c) => c.get('config').corsCredentials,
      allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'X-Requested-With', 'X-Content-Sha256', 'Range', 'If-None-Match'],
      exposeHeaders: ['Retry-After', 'X-Request-Id', 'Idempotency-Replayed', 'ETag', 'Content-Range', 'Accept-Ranges'],
      maxAge: 600,
    }),
  );
  app.use(guardDatabase(spareTheDatabaseCircuit));
  app.use(authenticate({ isPublic, isAdmin: routeMatcher(tokenRoutes), isReadOnly: routeMatcher(gitlabReadRoutes) }));
  app.use(limitRequests(isIngestion));
  app.use((c, next) => {
    if (isFileUpload(c.req.method, routingPath(c.req.raw))) return next();
    const { maxBodyBytes } = c.get('config');
    const maxSize = isBulk(c.req.method, routingPath(c.req.raw)) ? Math.max(MAX_BULK_BYTES, maxBodyBytes) : maxBodyBytes;
    return limitBody(maxSize, () => {
      throw new ApiError(413, `The request body exceeds ${maxSize} bytes.`);
    })(c, next);
  });
  // Public routes check their own credentials first, then the body (the webhook: see its contract).
  app.use((c, next) => {
    const path = routingPath(c.req.raw);
    return isPublic(c.req.method, path) || isFileUpload(c.req.method, path) ? next() : checkJsonBody((c) => c.get('config').maxJsonDepth)(c, next);
  });
  app.use(restrictBodyProject);

  // Static paths before parameters (checked below): the commit routes' `save-artifacts` before ingestion's
  // `/commit/{id}`, the left-behind `/output/image/*` before `/output/{id}`.
  mountLeftBehind(app);
  app
    .route('/', commitsRouter)
    .route('/', compareRouter)
    .route('/', ingestRouter)
    .route('/', projectsRouter)
    .route('/', milestonesRouter)
    .route('/', outputsRouter)
    .route('/', filesRouter)
    .route('/', batchesRouter)
    .route('/', testGroupsRouter)
    .route('/', runRequestsRouter)
    .route('/', webhooksRouter)
    .route('/', tokensRouter)
    .route('/', ingestionsRouter)
    .route('/', retentionRouter)
    .route('/', usersRouter)
    .route('/', gitlabRouter)
    .route('/', healthRouter);
  assertStaticRoutesWin(app.routes);

  // Tokens go as Bearer, or as the HTTP Basic password (the qa CLI's `user:token@host`); the web app
  // has a session cookie. `{}`: open mode needs none.
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (`qab_…`), or a GitLab CI id_token whose audience is this API.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'basicToken', {
    type: 'http',
    scheme: 'basic',
    description: 'Any user name; the API token (or CI id_token) as password.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: "The web app's session. Writes also need an allowed `Origin`, and JSON bodies (or PUT/DELETE).",
  });
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'QA-Board Edge API',
      version: '1.0.0',
      description:
        'The QA-Board v1 API: ingestion from the qa CLI, reads and writes for the web app, runs requested from it and dispatched to GitLab CI. ' +
        'Routes of the original left behind on purpose (`/api/v1/export`, `/api/v1/output/image/*`, `/api/v1/output/diff/*`, ' +
        '`/api/v1/jenkins/*`, `/api/v1/webhook/proxy`) answer 501 with what to use instead.',
    },
    security: [{ bearerToken: [] }, { basicToken: [] }, { sessionCookie: [] }, {}],
  });
  app.get(DOCS_PATH, apiReferencePage(OPENAPI_PATH));
  return app;
}
