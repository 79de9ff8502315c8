import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { authenticate } from '../auth/authenticate';
import { restrictBodyProject } from '../auth/body-project';
import type { Caller } from '../auth/principal';
import type { AppConfig } from '../config';
import type { Db } from '../db/client';
import type { GitLabJob } from '../gitlab/jobs';
import type { JobQueue } from '../jobs/job-queue';
import { checkJsonBody } from './json-body-check';
import { ApiError, problem, problemResponse, type FieldError } from './problem';
import { rateLimit, type RateLimiter } from './rate-limit';
import { routingPath } from './routing-path';

/** What handlers find on `c.var`, provided per request by the runtime entry. */
export interface Services {
  db: Db;
  config: AppConfig;
  rateLimiter: RateLimiter;
  /** Present when the GitLab integration is configured. */
  gitlabQueue?: JobQueue<GitLabJob>;
}

export interface AppBindings {
  /** Worker bindings (vars, secrets, queues); on Node the entry reads `process.env` instead. */
  Bindings: Record<string, unknown>;
  Variables: Services & { requestId: string; caller: Caller };
}
export type AppContext = Context<AppBindings>;

export interface AppOptions {
  /** `release` runs once the response is produced (the Worker ends its per-request pool there). */
  services(c: AppContext): { services: Services; release?: () => void };
}

/** Turns zod validation failures into a 400 problem that names every offending field. */
const validationHook: Hook<unknown, AppBindings, string, unknown> = (result, c) => {
  if (result.success) return;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return problemResponse(
    problem(400, 'Invalid request', detail, { errors, instance: c.req.path, request_id: c.var.requestId }),
  );
};

export function createRouter() {
  return new OpenAPIHono<AppBindings>({ defaultHook: validationHook, getPath: routingPath });
}

export function createApp(options: AppOptions) {
  const app = createRouter();

  app.use(async (c, next) => {
    c.set('requestId', c.req.header('x-request-id') ?? crypto.randomUUID());
    await next();
    c.header('x-request-id', c.var.requestId);
  });
  app.use(async (c, next) => {
    const { services, release } = options.services(c);
    c.set('db', services.db);
    c.set('config', services.config);
    c.set('rateLimiter', services.rateLimiter);
    c.set('gitlabQueue', services.gitlabQueue);
    try {
      await next();
    } finally {
      release?.();
    }
  });
  // Browsers get CORS headers only for the configured origins (the web app's); preflights answer before auth.
  app.use((c, next) =>
    cors({
      origin: (origin) => (c.var.config.corsOrigins.includes(origin) ? origin : null),
      credentials: c.var.config.corsCredentials,
      allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
      exposeHeaders: ['Retry-After', 'X-Request-Id', 'Idempotency-Replayed'],
      maxAge: 600,
    })(c, next),
  );
  app.use(authenticate);
  app.use(rateLimit);
  app.use((c, next) =>
    bodyLimit({
      maxSize: c.var.config.maxBodyBytes,
      onError: (c) =>
        problemResponse(
          problem(413, 'Payload Too Large', `The request body exceeds ${c.var.config.maxBodyBytes} bytes.`, {
            instance: c.req.path,
            request_id: c.var.requestId,
          }),
        ),
    })(c, next),
  );
  app.use(checkJsonBody);
  app.use(restrictBodyProject);

  app.notFound((c) =>
    problemResponse(problem(404, 'Not Found', `No route for ${c.req.method} ${c.req.path}.`, { instance: c.req.path })),
  );
  app.onError((err, c) => {
    const context = { instance: c.req.path, request_id: c.var.requestId };
    if (err instanceof ApiError) {
      return problemResponse(problem(err.status, err.title, err.message, { ...context, errors: err.errors }), err.headers);
    }
    if (err instanceof HTTPException && err.status < 500) {
      return problemResponse(problem(err.status, 'Bad Request', err.message, context));
    }
    console.error(JSON.stringify({ level: 'error', request_id: c.var.requestId, path: c.req.path, error: String(err), stack: (err as Error).stack }));
    return problemResponse(
      problem(500, 'Internal Server Error', `Unexpected error; quote request id ${c.var.requestId} when reporting it.`, context),
    );
  });

  return app;
}

export type App = ReturnType<typeof createApp>;
