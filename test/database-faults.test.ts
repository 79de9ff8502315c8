/**
 * When the database is down or hangs, requests fail fast with a 503 the client can retry — not a
 * generic 500, and not a request that waits as long as the client does — and the service recovers
 * by itself once the database is back. Needs a Postgres server (TEST_DATABASE_URL), reached
 * through a proxy the test breaks on purpose; PGlite runs in process and can't hang.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postJson, testApp, type TestApp } from './support/app';
import { openTestDatabase, type TestDatabase } from './support/databases';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy';
import { outputUpload } from './support/uploads';

const serverEngines = process.env.TEST_DATABASE_URL ? (['pg', 'neon'] as const) : [];
const timeouts = { connectTimeoutMs: 500, statementTimeoutMs: 1000 };

describe.skipIf(!serverEngines.length).each(serverEngines)('a failing database on %s', (engine) => {
  let proxy: FaultProxy;
  let database: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    const server = new URL(process.env.TEST_DATABASE_URL!);
    proxy = await startFaultProxy({ host: server.hostname, port: Number(server.port || 5432) });
    database = await openTestDatabase(engine, { urlFor: proxy.urlThrough, timeouts });
    app = testApp(database.db);
  });
  afterAll(async () => {
    proxy.setMode('pass');
    await database?.close();
    await proxy?.close();
  });

  async function expectUnavailable(request: () => Response | Promise<Response>) {
    const started = performance.now();
    const response = await request();
    const seconds = (performance.now() - started) / 1000;
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await response.json()) as { detail: string }).detail).toContain('database is unavailable');
    return seconds;
  }

  test('down: 503 with Retry-After at once, for reads and uploads; back up: served again', async () => {
    expect((await app.request('/api/v1/projects')).status).toBe(200);
    proxy.setMode('down');
    expect(await expectUnavailable(() => app.request('/api/v1/projects'))).toBeLessThan(2);
    expect(await expectUnavailable(() => postJson(app, '/api/v1/output/', outputUpload({ project: 'faults/down' })))).toBeLessThan(2);
    proxy.setMode('pass');
    expect((await postJson(app, '/api/v1/output/', outputUpload({ project: 'faults/down' }))).status).toBe(200);
  });

  test('hung: the request gives up after the statement timeout with a 503, then recovers', async () => {
    expect((await app.request('/api/v1/projects')).status).toBe(200);
    proxy.setMode('hang');
    const seconds = await expectUnavailable(() => app.request('/api/v1/projects'));
    expect(seconds).toBeLessThan(timeouts.statementTimeoutMs / 1000 + timeouts.connectTimeoutMs / 1000 + 1);
    proxy.setMode('pass');
    let status = 0;
    for (let i = 0; i < 10 && status !== 200; i++) status = (await app.request('/api/v1/projects')).status;
    expect(status).toBe(200);
  });
});
