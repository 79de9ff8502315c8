import { buildApp } from '../../src/app';
import { parseConfig } from '../../src/config';
import type { Db } from '../../src/db/client';

/** The app as the Node entry builds it, on a test database; `env` as the process environment would give it. */
export function testApp(db: Db, env: Record<string, string> = {}) {
  const services = { db, config: parseConfig(env) };
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
