/**
 * Exports the database to a local folder, with the code path the daily Cron uses for R2.
 *
 *   npm run backup -- --to <folder> [--report-memory]   (DATABASE_URL, or the embedded PGlite in QABOARD_DATA_DIR)
 *
 * `--report-memory` prints this process's peak RSS and heap (the benchmark reads it). The npm script
 * runs it bundled (esbuild, no TypeScript loader in memory) with V8's heap capped at 64 MB: an export
 * holds one page and one compressed part, whatever the table sizes.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectNodeDatabase } from '../src/db/connect-node';
import { exportBackup } from '../src/maintenance/export-backup';
import { folderBlobStore } from '../src/maintenance/folder-blob-store';
import { SCHEMA_VERSION } from '../src/db/schema-version';

const { values } = parseArgs({ options: { to: { type: 'string' }, 'report-memory': { type: 'boolean' } } });
if (!values.to) {
  console.error('usage: npm run backup -- --to <folder>');
  process.exit(2);
}
const database = await connectNodeDatabase(
  process.env.DATABASE_URL
    ? { kind: 'postgres', url: process.env.DATABASE_URL }
    : { kind: 'pglite', dataDir: path.resolve(process.env.QABOARD_DATA_DIR ?? '.data', 'pglite') },
);
const peak = { rss: 0, heap: 0 };
const sampler = setInterval(() => {
  const { rss, heapUsed } = process.memoryUsage();
  peak.rss = Math.max(peak.rss, rss);
  peak.heap = Math.max(peak.heap, heapUsed);
}, 10);
try {
  const manifest = await exportBackup(database.db, folderBlobStore(values.to), { prefix: '', schemaVersion: SCHEMA_VERSION });
  const rows = manifest.parts.reduce((sum, p) => sum + p.rows, 0);
  console.log(`backed up ${rows} rows in ${manifest.parts.length} parts from ${database.description} to ${values.to}`);
} finally {
  clearInterval(sampler);
  await database.close();
}
if (values['report-memory']) console.log(`peak-memory rss=${peak.rss} heap=${peak.heap}`);
