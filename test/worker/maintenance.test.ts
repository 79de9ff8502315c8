/** The Worker's scheduled() handler in workerd: the daily backup goes through the queue into the local R2 bucket. */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { expect, test } from 'vitest';
import { configureNeonForProxy, openNeonDatabase } from '../../src/db/connect-neon';
import entry, { type WorkerEnv } from '../../src/worker';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';
import { ADMIN_JSON } from './worker-credentials';

// The module itself, not the `exports` RPC stub: a ScheduledController can't cross that boundary.
const worker = entry as Required<typeof entry>;
const workerEnv = env as unknown as WorkerEnv;
const bucket = (env as unknown as WorkerEnv).BACKUPS;

test('the daily cron writes a complete backup to R2, one part per queue message', async () => {
  const upload = { ...(JSON.parse(sample.split('\n')[0]!).json as object), project: 'worker/backup', metrics: { 'ünïcødé': 1 } };
  const api = (exports as unknown as { default: { fetch(r: Request): Promise<Response> } }).default;
  const posted = await api.fetch(new Request('http://qaboard.test/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload) }));
  expect(posted.status).toBe(200);

  // Output files: counted in the manifest (through R2 list pages), not copied.
  const artifacts = workerEnv.ARTIFACTS;
  await artifacts.put(`worker/census/${'ab'.repeat(20)}/1/2/a.png`, new Uint8Array(7));
  await artifacts.put(`worker/census/${'ab'.repeat(20)}/artifacts/run`, new Uint8Array(5));

  const controller = createScheduledController({ cron: '17 3 * * *', scheduledTime: new Date('2026-11-29T03:17:00Z').getTime() });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  // The cron only starts the backup: the maintenance queue then exports one part per message.
  let manifestObject: R2ObjectBody | null = null;
  for (let i = 0; i < 120 && !manifestObject; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    manifestObject = await bucket.get('backups/2026-11-29/manifest.json');
  }
  expect(manifestObject).not.toBeNull();
  const manifest = (await manifestObject!.json()) as { schemaVersion: string; parts: Array<{ table: string; key: string; rows: number }>; artifacts: Record<string, any> };
  expect(manifest.schemaVersion).toMatch(/^\d{4}_/);
  expect(manifest.artifacts).toMatchObject({ complete: true, projects: { 'worker/census': { objects: 2, bytes: 12 } } });
  expect(await bucket.head(`backups/2026-11-29/worker/census/${'ab'.repeat(20)}/1/2/a.png`)).toBeNull();
  expect(manifest.parts.find((p) => p.table === 'outputs')?.rows).toBeGreaterThanOrEqual(1);
  // Keys are relative to the manifest, so a backup can be moved.
  for (const part of manifest.parts) expect((await bucket.head(`backups/2026-11-29/${part.key}`))?.size).toBeGreaterThan(0);
});

test('the hourly cron marks a run that stopped reporting as failed', async () => {
  const api = (exports as unknown as { default: { fetch(r: Request): Promise<Response> } }).default;
  const running = { ...(JSON.parse(sample.split('\n')[0]!).json as object), project: 'worker/reaper', is_running: true, is_pending: true };
  const posted = await api.fetch(new Request('http://qaboard.test/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(running) }));
  const { id } = (await posted.json()) as { id: number };
  // Its last news was two days ago (the API can't backdate: straight through the Neon driver).
  if (workerEnv.NEON_WS_PROXY) configureNeonForProxy(workerEnv.NEON_WS_PROXY);
  const { db, pool } = openNeonDatabase((env as unknown as { DATABASE_URL: string }).DATABASE_URL);
  await db.execute(sql`UPDATE outputs SET updated_at = now() - interval '2 days' WHERE id = ${id}`);
  await pool.end();

  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: '5 * * * *' }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  const output = (await (await api.fetch(new Request(`http://qaboard.test/api/v1/output/${id}`))).json()) as Record<string, any>;
  expect(output).toMatchObject({ is_pending: false, is_running: false, is_failed: true });
  expect(output.data.failure_reason).toEqual(expect.any(String));
});
