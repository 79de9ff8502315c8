/**
 * When the database is down or hangs: reads fail fast with a 503 the client can retry (not a
 * generic 500, not a request that waits as long as the client does), uploads are kept and
 * acknowledged (202), and once the database is back every acknowledged upload is written exactly
 * once, in its final state. Needs a Postgres server (TEST_DATABASE_URL), reached through a proxy
 * the test breaks on purpose; PGlite runs in process and can't go down.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { memoryLogger, postJson, testApp, type TestApp } from './support/app';
import { killOwned } from '../src/maintenance/owned-children';
import { createScratchDatabase, openTestDatabase, type TestDatabase } from './support/databases';
import { startServer } from './support/node-entry';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy';
import { outputUpload, shaOf } from './support/uploads';

const serverEngines = ['pg', 'neon'] as const;
const timeouts = { connectTimeoutMs: 500, statementTimeoutMs: 1000 };
const settings = { INGEST_DEADLINE_MS: '700', CIRCUIT_OPEN_MS: '300', CIRCUIT_FAILURES: '2' };

describe.skipIf(!process.env.TEST_DATABASE_URL).each(serverEngines)('a failing database on %s (needs TEST_DATABASE_URL)', (engine) => {
  let proxy: FaultProxy;
  let database: TestDatabase;
  let app: TestApp;
  const logger = memoryLogger();
  /** Why each upload answered 202 was spooled, from its request's log line. */
  const spooledBecause = () => logger.records.filter((r) => r.status === 202).map((r) => r.spooled_because);

  beforeAll(async () => {
    const server = new URL(process.env.TEST_DATABASE_URL!);
    proxy = await startFaultProxy({ host: server.hostname, port: Number(server.port || 5432) });
    database = await openTestDatabase(engine, { urlFor: proxy.urlThrough, timeouts });
    app = testApp(database.db, settings, { logger });
  });
  afterAll(async () => {
    proxy.setMode('pass');
    await database?.close();
    await proxy?.close();
  });

  async function expectUnavailable(request: () => Response | Promise<Response>) {
    const started = performance.now();
    const response = await request();
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await response.json()) as { detail: string }).detail).toContain('database is unavailable');
    return (performance.now() - started) / 1000;
  }

  /** Retries while the circuit recovers (a trial at a time). */
  async function eventually(request: () => Response | Promise<Response>, status: number) {
    let response = await request();
    for (let i = 0; i < 40 && response.status !== status; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      response = await request();
    }
    return response;
  }

  const outputsOf = (project: string) =>
    queryRows<{ path: string; is_pending: boolean; metrics: Record<string, unknown> }>(
      database.db,
      sql`SELECT t.path, o.is_pending, o.metrics FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
          JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id WHERE c.project_id = ${project} ORDER BY t.path`,
    );

  test('down: reads 503 at once; uploads are acknowledged (202) and written when it is back', async () => {
    expect((await app.request('/api/v1/projects')).status).toBe(200);
    proxy.setMode('down');
    expect(await expectUnavailable(() => app.request('/api/v1/projects'))).toBeLessThan(2);
    const started = await postJson(app, '/api/v1/output/', outputUpload({ project: 'faults/down', sha: shaOf(1), input: 'a', status: 'running' }));
    const other = await postJson(app, '/api/v1/output/', outputUpload({ project: 'faults/down', sha: shaOf(1), input: 'b', metrics: { psnr: 20 } }));
    expect([started.status, other.status]).toEqual([202, 202]);
    // Failures in a row (the read's, the first upload's) opened the circuit: a later upload doesn't try the database.
    const third = await postJson(app, '/api/v1/output/', outputUpload({ project: 'faults/down', sha: shaOf(1), input: 'c', metrics: { psnr: 10 } }));
    expect(third.status).toBe(202);
    // The operator's log line says why: the connection's failure, then the open circuit.
    const [first, , last] = spooledBecause().slice(-3);
    expect(first).toEqual(expect.any(String));
    expect(first).not.toMatch(/circuit/);
    expect(last).toMatch(/circuit is open/);
    const receipt = ((await started.json()) as { ingestion_id: string }).ingestion_id;
    // The circuit is open now: reads don't even wait for a connection timeout.
    expect(await expectUnavailable(() => app.request('/api/v1/projects'))).toBeLessThan(0.2);

    proxy.setMode('pass');
    // The run ends after the database is back: written at once, and the spooled start (received before) can't reopen it.
    const ended = await eventually(() => postJson(app, '/api/v1/output/', outputUpload({ project: 'faults/down', sha: shaOf(1), input: 'a', metrics: { psnr: 30 } })), 200);
    expect(ended.status).toBe(200);
    app.spoolDrain.kick();
    await app.spoolDrain.idle();
    expect(await outputsOf('faults/down')).toEqual([
      { path: 'a', is_pending: false, metrics: { psnr: 30, is_failed: false } },
      { path: 'b', is_pending: false, metrics: { psnr: 20, is_failed: false } },
      { path: 'c', is_pending: false, metrics: { psnr: 10, is_failed: false } },
    ]);
    const state = await (await app.request(`/api/v1/ingestions/${receipt}`)).json();
    expect(state).toMatchObject({ id: receipt, status: 'written', total: 1, written: 1 });
  });

  test('hung: reads give up after the statement timeout with a 503, uploads after the ingestion deadline with a 202', async () => {
    await eventually(() => app.request('/api/v1/projects'), 200);
    proxy.setMode('hang');
    const seconds = await expectUnavailable(() => app.request('/api/v1/projects'));
    expect(seconds).toBeLessThan(timeouts.statementTimeoutMs / 1000 + timeouts.connectTimeoutMs / 1000 + 1);
    const started = performance.now();
    const upload = await postJson(app, '/api/v1/output/', outputUpload({ project: 'faults/hung', sha: shaOf(2), input: 'h', metrics: { psnr: 1 } }));
    expect(upload.status).toBe(202);
    expect(spooledBecause().at(-1)).toMatch(/timeout|no answer from the database within/);
    expect(performance.now() - started).toBeLessThan(Number(settings.INGEST_DEADLINE_MS) + 1_000);
    proxy.setMode('pass');
    expect((await eventually(() => app.request('/api/v1/projects'), 200)).status).toBe(200);
    app.spoolDrain.kick();
    await app.spoolDrain.idle();
    expect(await outputsOf('faults/hung')).toEqual([{ path: 'h', is_pending: false, metrics: { psnr: 1, is_failed: false } }]);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('the Node entry started while its database is down (needs TEST_DATABASE_URL)', () => {
  test('serves at once: health 503, uploads acknowledged; once the database answers, migrates and writes them', async () => {
    const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!); // empty: not migrated yet
    const server = new URL(process.env.TEST_DATABASE_URL!);
    const proxy = await startFaultProxy({ host: server.hostname, port: Number(server.port || 5432) });
    proxy.setMode('down');
    const dataRoot = await mkdtemp(path.join(tmpdir(), 'qaboard-down-at-start-'));
    const running = await startServer(dataRoot, { DATABASE_URL: proxy.urlThrough(scratch.url), DATABASE_CONNECT_TIMEOUT_MS: '500' }, { path: '/api/v1/health', status: 503 });
    try {
      const upload = await fetch(`${running.url}/api/v1/output/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(outputUpload({ project: 'faults/start', sha: shaOf(7), metrics: { psnr: 7 } })),
      });
      expect(upload.status).toBe(202);
      proxy.setMode('pass');
      let read: Response | undefined;
      for (let i = 0; i < 100 && read?.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        read = await fetch(`${running.url}/api/v1/commit/${shaOf(7)}?project=faults%2Fstart`);
      }
      expect(read?.status).toBe(200);
      expect(running.output()).toContain('unreachable at start');
      expect(((await (await fetch(`${running.url}/api/v1/health`)).json()) as { status: string }).status).toBe('ok');
    } finally {
      await killOwned(running.child);
      await proxy.close();
      await scratch.drop();
    }
  }, 90_000);
});
