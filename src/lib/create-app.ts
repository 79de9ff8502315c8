import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Db } from '../db/client';
import { ApiError, problem, problemResponse, type FieldError } from './problem';
import { routingPath } from './routing-path';

export interface AppBindings {
  /** Worker bindings (secrets and vars); empty on Node, where configuration comes from the process. */
  Bindings: { DATABASE_URL?: string; NEON_WS_PROXY?: string };
  Variables: { db: Db; requestId: string };
}
export type AppContext = Context<AppBindings>;

/** How an entry gives each request its database handle. */
export interface DatabaseProvider {
  /** `release` runs once the response is produced (the Worker closes its per-request pool there). */
  forRequest(c: AppContext): { db: Db; release?: () => void };
}

export interface AppOptions {
  database: DatabaseProvider;
  /** Largest accepted request body; the qa CLI's uploads are ~2.5 KB. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

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
  app.use(
    bodyLimit({
      maxSize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      onError: (c) =>
        problemResponse(
          problem(413, 'Payload Too Large', `The request body exceeds ${options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes.`, {
            instance: c.req.path,
            request_id: c.var.requestId,
          }),
        ),
    }),
  );
  app.use(async (c, next) => {
    const { db, release } = options.database.forRequest(c);
    c.set('db', db);
    try {
      await next();
    } finally {
      release?.();
    }
  });

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
