import { buildApp } from '../../src/app';
import { parseConfig } from '../../src/config';
import type { Db } from '../../src/db/client';
import type { Services } from '../../src/lib/create-app';
import { memoryRateLimiter } from '../../src/lib/rate-limit';

/**
 * The app as the Node entry builds it, on a test database; `env` as the process environment would
 * give it; `extra` adds services (a GitLab queue).
 */
export function testApp(db: Db, env: Record<string, string> = {}, extra: Partial<Services> = {}) {
  const config = parseConfig(env);
  const services = { db, config, rateLimiter: memoryRateLimiter(config.rateLimitPerMinute), ...extra };
  return buildApp({ services: () => ({ services }) });
}

export type TestApp = ReturnType<typeof testApp>;

export function postJson(app: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
