/**
 * Faults under load: the database going away in the middle of a stream of concurrent uploads
 * (connections dropped mid-transaction), a spool consumer crashing mid-batch, the Node process
 * killed with uploads spooled. Afterwards every upload answered 2xx is stored exactly once, in the
 * state of its last acknowledged upload. Needs a Postgres server (TEST_DATABASE_URL).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { outputUpload as outputUploadSchema } from '../src/domain/ingest/envelope';
import { fileSpool } from '../src/ingestion/file-spool';
import { newReceiptId, receiptClock } from '../src/ingestion/receipts';
import { outputChunks, writeSpooled } from '../src/ingestion/spooled-uploads';
import { killOwned } from '../src/maintenance/owned-children';
import { postJson, testApp } from './support/app';
import { createScratchDatabase, openTestDatabase, type TestDatabase } from './support/databases';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy';
import { startServer } from './support/node-entry';
import { outputUpload, shaOf } from './support/uploads';

const needsPostgres = !process.env.TEST_DATABASE_URL;

describe.skipIf(needsPostgres)('faults under load (needs TEST_DATABASE_URL)', () => {
  let proxy: FaultProxy;
  let database: TestDatabase;

  beforeAll(async () => {
    const server = new URL(process.env.TEST_DATABASE_URL!);
    proxy = await startFaultProxy({ host: server.hostname, port: Number(server.port || 5432) });
    database = await openTestDatabase('pg', { urlFor: proxy.urlThrough, timeouts: { connectTimeoutMs: 500, statementTimeoutMs: 2_000 } });
  });
  afterAll(async () => {
    proxy?.setMode('pass');
    await database?.close();
    await proxy?.close();
  });

  /** Every stored output of `project`: its input and the run it belongs to (metrics.run). */
  const stored = (project: string) =>
    queryRows<{ path: string; run: number | null; is_pending: boolean }>(
      database.db,
      sql`SELECT t.path, (o.metrics ->> 'run')::int AS run, o.is_pending FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
          JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id WHERE c.project_id = ${project} ORDER BY t.path`,
    );

  test('the database drops out for a while during 8 concurrent upload streams: nothing acknowledged is lost or doubled', async () => {
    const app = testApp(database.db, { INGEST_DEADLINE_MS: '1000', CIRCUIT_OPEN_MS: '300' });
    const INPUTS = 60;
    // Each input gets a start, then an end carrying its run number: the final state must be the end.
    const acknowledged = new Map<string, number>();
    const failures: number[] = [];
    let next = 0;
    const streams = Array.from({ length: 8 }, async () => {
      while (next < INPUTS) {
        const i = next++;
        const input = `in/${String(i).padStart(3, '0')}`;
        for (const status of ['running', 'done'] as const) {
          const response = await postJson(app, '/api/v1/output/', outputUpload({ project: 'faults/load', sha: shaOf(1), input, status, metrics: { run: i } }));
          if (response.status >= 300) failures.push(response.status);
          else if (status === 'done') acknowledged.set(input, i);
        }
      }
    });
    const outage = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      proxy.setMode('down');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      proxy.setMode('pass');
    })();
    await Promise.all([...streams, outage]);
    expect(failures).toEqual([]);
    for (let i = 0; i < 50 && (await app.spool.depth()); i++) {
      app.spoolDrain.kick();
      await app.spoolDrain.idle();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const outputs = await stored('faults/load');
    expect(outputs).toHaveLength(INPUTS); // one row per input: none lost, none doubled
    expect(outputs.filter((o) => o.is_pending)).toEqual([]);
    for (const output of outputs) expect(output.run, output.path).toBe(acknowledged.get(output.path));
  });

  test('a spool consumer that crashes mid-batch: the restarted one writes the rest, and nothing twice', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'spool-crash-'));
    const clock = receiptClock();
    const uploads = Array.from({ length: 10 }, (_, i) => ({
      upload: outputUploadSchema.parse(outputUpload({ project: 'faults/crash', sha: shaOf(2), input: `in/${i}`, metrics: { run: i } })),
      receivedAt: clock(),
    }));
    const messages = uploads.flatMap((upload) => outputChunks(newReceiptId(), [upload]).chunks);
    await fileSpool(folder).append(messages);
    const hooks = { written: async () => {}, completeBatches: async () => {} };
    const first = await fileSpool(folder).take(10);
    for (const message of first.messages.slice(0, 6)) await writeSpooled(database.db, message, hooks);
    // …the process dies here, before `done()`: the cursor never moved.
    const restarted = fileSpool(folder);
    const again = await restarted.take(10);
    expect(again.messages).toHaveLength(10);
    for (const message of again.messages) await writeSpooled(database.db, message, hooks);
    await again.done();
    expect(await restarted.depth()).toBe(0);
    expect((await stored('faults/crash')).map((o) => o.run)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [chunks] = await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM ingestion_chunks WHERE project_ids ? 'faults/crash'`);
    expect(chunks!.n).toBe(10);
  });

  test('the Node process killed (SIGKILL) with uploads spooled: restarted, it writes them', async () => {
    const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
    const dataRoot = await mkdtemp(path.join(tmpdir(), 'qaboard-killed-'));
    const env = { DATABASE_URL: proxy.urlThrough(scratch.url), DATABASE_CONNECT_TIMEOUT_MS: '500', CIRCUIT_OPEN_MS: '300' };
    try {
      let running = await startServer(dataRoot, env);
      proxy.setMode('down');
      const spooled = [];
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${running.url}/api/v1/output/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(outputUpload({ project: 'faults/killed', sha: shaOf(3), input: `in/${i}`, metrics: { run: i } })),
        });
        spooled.push(response.status);
      }
      expect(spooled).toEqual([202, 202, 202, 202, 202]);
      await killOwned(running.child); // SIGKILL to its process group: no shutdown handler runs
      proxy.setMode('pass');
      running = await startServer(dataRoot, env);
      try {
        let outputs = 0;
        for (let i = 0; i < 50 && outputs < 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          const commit = await fetch(`${running.url}/api/v1/commit/${shaOf(3)}?project=faults%2Fkilled`);
          if (commit.ok) outputs = Object.keys(((await commit.json()) as { batches: { default: { outputs: object } } }).batches.default.outputs).length;
        }
        expect(outputs).toBe(5);
      } finally {
        await killOwned(running.child);
      }
    } finally {
      await scratch.drop();
    }
  }, 120_000);
});
