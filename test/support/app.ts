import { buildApp } from '../../src/app';
import type { Db } from '../../src/db/client';

export function testApp(db: Db) {
  return buildApp({ database: { forRequest: () => ({ db }) } });
}

export type TestApp = ReturnType<typeof testApp>;

export function postJson(app: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
