/**
 * Node only: the Scalar bundle behind `/api/docs`, from the pinned `@scalar/api-reference` package —
 * copied into the Worker's static assets at build time (scripts/worker-assets.ts) and served by the
 * Node entry from the package itself.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { SCALAR_BUNDLE_PATH } from './api-reference';

/** `dist/browser/standalone.js` of the installed package (its `exports` name no path to it). */
export function scalarBundleFile(): string {
  const entry = createRequire(import.meta.url).resolve('@scalar/api-reference');
  return path.join(path.dirname(entry), 'browser', 'standalone.js');
}

type Fetch = (request: Request, env: object) => Response | Promise<Response>;

/**
 * The Node entry's Workers Static Assets: the bundle is answered before the app runs (no auth, rate
 * limit or request id, as on Workers); every other request goes to `fetch`.
 */
export function withApiReferenceAssets(fetch: Fetch): Fetch {
  const assets = new Hono();
  assets.get(SCALAR_BUNDLE_PATH, serveStatic({ path: scalarBundleFile() }));
  assets.all('*', (c) => fetch(c.req.raw, c.env as object));
  return (request, env) => assets.fetch(request, env);
}
