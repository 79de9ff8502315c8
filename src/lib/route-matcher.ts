/**
 * Tells whether a request targets one of a set of route contracts, by method and OpenAPI path
 * template (`/api/v1/output/{id}`), on the normalised routing path. It lets cross-cutting rules
 * (public routes, ingestion limits) read their routes from the contracts that declare them.
 */
import type { RouteConfig } from '@hono/zod-openapi';

export type RouteMatcher = (method: string, path: string) => boolean;

const escapeRegExp = (text: string) => text.replace(/[.*+?^$()|[\]\\]/g, '\\$&');

export function routeMatcher(routes: Pick<RouteConfig, 'method' | 'path'>[]): RouteMatcher {
  const patterns = routes.map(({ method, path }) => ({
    method: method.toUpperCase(),
    path: new RegExp(`^${escapeRegExp(path).replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  return (method, path) => patterns.some((p) => p.method === method.toUpperCase() && p.path.test(path));
}
