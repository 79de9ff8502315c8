/**
 * Tells whether a request targets one of a set of route contracts, by method and OpenAPI path
 * template (`/api/v1/output/{id}`), on the normalised routing path. It lets cross-cutting rules
 * (public routes, ingestion limits) read their routes from the contracts that declare them.
 */
import type { RouteConfig } from '@hono/zod-openapi';

export type RouteMatcher = (method: string, path: string) => boolean;

const escapeRegExp = (text: string) => text.replace(/[.*+?^$()|[\]\\]/g, '\\$&');

export function routeMatcher(routes: Pick<RouteConfig, 'method' | 'path'>[]): RouteMatcher {
  // Several matchers run on every request: each tries only the patterns of the request's method, as one regexp.
  const byMethod = new Map<string, string[]>();
  for (const { method, path } of routes) {
    const key = method.toUpperCase();
    byMethod.set(key, [...(byMethod.get(key) ?? []), escapeRegExp(path).replace(/\{[^}]+\}/g, '[^/]+')]);
  }
  const matchers = new Map([...byMethod].map(([method, patterns]) => [method, new RegExp(`^(?:${patterns.join('|')})$`)]));
  return (method, path) => matchers.get(method.toUpperCase())?.test(path) ?? false;
}
