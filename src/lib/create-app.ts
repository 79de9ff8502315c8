/**
 * The app factory: every router and the app itself (production and tests) share one validation
 * hook, one error mapping and the per-request services. What the app does — middleware, routes,
 * documentation — is assembled in src/app.ts.
 */
import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { invalidFields, notFound, problemResponse } from './problem';
import { logRequests } from './request-log';
import { routingPath } from './routing-path';
import type { AppBindings, AppOptions } from './types';

/** zod validation failures become a 400 problem that names every offending field. */
const validationHook: Hook<unknown, AppBindings, string, unknown> = (result) => {
  if (result.success) return;
  throw invalidFields(
    result.error.issues.map((issue) => ({ field: issue.path.length ? issue.path.join('.') : '(body)', message: issue.message })),
  );
};

export function createRouter() {
  return new OpenAPIHono<AppBindings>({ defaultHook: validationHook, getPath: routingPath });
}

export function createApp(options: AppOptions) {
  const app = createRouter();
  // A client's X-Request-Id is kept only when short and plain (hono's rules); otherwise a new one.
  app.use(requestId());
  // Middleware that runs on every request reads them with `c.get(name)`: Hono's `c.var` builds a new
  // object of every variable on each access (~4 µs with our twenty), a dozen times per upload.
  app.use(async (c, next) => {
    const { services, release } = options.services(c);
    for (const [name, service] of Object.entries(services)) c.set(name as keyof typeof services, service as never);
    try {
      await next();
    } finally {
      release?.();
    }
  });
  app.use(logRequests);
  app.notFound((c) => problemResponse(c, notFound(`No route for ${c.req.method} ${c.req.path}.`)));
  app.onError((error, c) => problemResponse(c, error));
  return app;
}

export type App = ReturnType<typeof createApp>;
