/**
 * Benchmark (not a test): exports 1,000,000 outputs from a scratch database on local Postgres to a
 * temporary folder, sampling peak memory, then restores them into another fresh database.
 *
 *   npm run bench:backup        (BENCH_DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/postgres)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connectNodeDatabase } from '../src/db/connect-node';
import { exportBackup } from '../src/maintenance/export-backup';
import { folderBlobStore } from '../src/maintenance/folder-blob-store';
import { restoreBackup } from '../src/maintenance/restore-backup';
import { SCHEMA_VERSION } from '../src/maintenance/schema-version';
import { seedBackupData } from '../test/support/backup-seed';
import { createScratchDatabase } from '../test/support/databases';

const OUTPUTS = Number(process.env.BENCH_OUTPUTS ?? 1_000_000);
const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

const sourceDb = await createScratchDatabase(baseUrl);
const targetDb = await createScratchDatabase(baseUrl);
const folder = await mkdtemp(path.join(tmpdir(), 'qaboard-bench-backup-'));
try {
  const source = await connectNodeDatabase({ kind: 'postgres', url: sourceDb.url, maxConnections: 2 });
  let t = performance.now();
  await seedBackupData(source.db, OUTPUTS);
  console.log(`seeded ${OUTPUTS} outputs in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  global.gc?.();
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  t = performance.now();
  const manifest = await exportBackup(source.db, folderBlobStore(folder), { prefix: '', schemaVersion: SCHEMA_VERSION });
  const exportSeconds = (performance.now() - t) / 1000;
  clearInterval(sampler);
  await source.close();
  const rows = manifest.parts.reduce((sum, p) => sum + p.rows, 0);
  console.log(`export: ${rows} rows in ${exportSeconds.toFixed(1)} s = ${Math.round(rows / exportSeconds)} rows/s; ` +
    `peak RSS ${mb(peakRss)} MB (baseline ${mb(baseline.rss)} MB), peak heap ${mb(peakHeap)} MB`);

  const target = await connectNodeDatabase({ kind: 'postgres', url: targetDb.url, maxConnections: 1 });
  await target.close();
  const client = new pg.Client({ connectionString: targetDb.url });
  await client.connect();
  t = performance.now();
  await restoreBackup(client, folderBlobStore(folder), '');
  const restoreSeconds = (performance.now() - t) / 1000;
  await client.end();
  console.log(`restore: ${rows} rows in ${restoreSeconds.toFixed(1)} s = ${Math.round(rows / restoreSeconds)} rows/s (verified counts + sha256)`);
} finally {
  await rm(folder, { recursive: true, force: true });
  await sourceDb.drop();
  await targetDb.drop();
}
