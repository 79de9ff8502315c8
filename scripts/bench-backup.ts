/**
 * Benchmark (not a test): exports 1,000,000 outputs from a scratch database on local Postgres to a
 * temporary folder with `scripts/backup.ts` in its own process (which reports its peak memory), then
 * restores them into another fresh database.
 *
 *   npm run bench:backup        (BENCH_DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/postgres)
 *
 * BENCH_OUTPUTS sets the number of outputs; BENCH_METRICS the keys of each output's metrics (default 6,
 * like the qa CLI's sample project: loss, psnr, n_frames, is_failed, compute_time, returncode).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connectNodeDatabase } from '../src/db/connect-node';
import { MANIFEST_KEY, type BackupManifest } from '../src/maintenance/backup-format';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { restoreBackup } from '../src/maintenance/restore-backup';
import { seedBackupData } from '../test/support/backup-seed';
import { createScratchDatabase } from '../test/support/databases';

const OUTPUTS = Number(process.env.BENCH_OUTPUTS ?? 1_000_000);
const METRICS = Number(process.env.BENCH_METRICS ?? 6);
const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

const sourceDb = await createScratchDatabase(baseUrl);
const targetDb = await createScratchDatabase(baseUrl);
const folder = await mkdtemp(path.join(tmpdir(), 'qaboard-bench-backup-'));
try {
  const source = await connectNodeDatabase({ kind: 'postgres', url: sourceDb.url, maxConnections: 2 });
  let t = performance.now();
  await seedBackupData(source.db, OUTPUTS, METRICS);
  console.log(`seeded ${OUTPUTS} outputs (${METRICS} metrics each) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  await source.close();

  // The export runs as `npm run backup`, in its own process, so the memory it reports is the export's own.
  t = performance.now();
  const run = spawnSync('npm', ['run', '--silent', 'backup', '--', '--to', folder, '--report-memory'], {
    env: { ...process.env, DATABASE_URL: sourceDb.url },
    encoding: 'utf8',
  });
  const exportSeconds = (performance.now() - t) / 1000;
  if (run.status !== 0) throw new Error(`backup failed: ${run.stderr}`);
  const [, peakRss, peakHeap] = run.stdout.match(/peak-memory rss=(\d+) heap=(\d+)/)!.map(Number);
  const manifest = JSON.parse(await readFile(path.join(folder, MANIFEST_KEY), 'utf8')) as BackupManifest;
  const rows = manifest.parts.reduce((sum, p) => sum + p.rows, 0);
  console.log(`export: ${rows} rows in ${exportSeconds.toFixed(1)} s = ${Math.round(rows / exportSeconds)} rows/s ` +
    `(whole process, start-up included); backup process peak RSS ${mb(peakRss!)} MB, heap ${mb(peakHeap!)} MB (target < 100 MB)`);

  const target = await connectNodeDatabase({ kind: 'postgres', url: targetDb.url, maxConnections: 1 });
  await target.close();
  const client = new pg.Client({ connectionString: targetDb.url });
  await client.connect();
  t = performance.now();
  await restoreBackup(client, folderObjectStore(folder), '');
  const restoreSeconds = (performance.now() - t) / 1000;
  await client.end();
  console.log(`restore: ${rows} rows in ${restoreSeconds.toFixed(1)} s = ${Math.round(rows / restoreSeconds)} rows/s (verified counts + sha256)`);
} finally {
  await rm(folder, { recursive: true, force: true });
  await sourceDb.drop();
  await targetDb.drop();
}
