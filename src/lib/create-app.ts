import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { AppConfig } from '../config';
import type { Db } from '../db/client';
import { ApiError, problem, problemResponse, type FieldError } from './problem';
import { routingPath } from './routing-path';

/** What handlers find on `c.var`, provided per request by the runtime entry. */
export interface Services {
  db: Db;
  config: AppConfig;
}

export interface AppBindings {
  /** Worker bindings (vars, secrets, queues); on Node the entry reads `process.env` instead. */
  Bindings: Record<string, unknown>;
  Variables: Services & { requestId: string };
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
    try {
      await next();
    } finally {
      release?.();
    }
  });
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

  app.notFound((c) =>
    problemResponse(problem(404, 'Not Found', `No route for ${c.req.method} ${c.req.path}.`, { instance: c.req.path })),
  );
  app.onError((err, c) => {
    const context = { instance: c.req.path, request_id: c.var.requestId };
    if (err instanceof ApiError) {
      return problemResponse(problem(err.status, err.title, err.message, { ...context, errors: err.errors }));
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
