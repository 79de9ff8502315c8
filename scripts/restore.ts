/**
 * Restores a backup into a database: applies migrations, verifies every part against the manifest,
 * loads everything in one transaction, resets sequences, and prints its progress.
 *
 *   npm run restore -- --from <folder | r2://bucket/prefix/> --to <postgres://… | embedded | <data folder>>
 *                      [--force] [--r2-persist-to <dir>]
 *
 * `--to embedded` is the embedded database of QABOARD_DATA_DIR (default .data); a folder names another
 * data folder (what QABOARD_DATA_DIR would be). It is refused while a server owns it.
 * An R2 backup is read with the operator's `wrangler` login (`--r2-persist-to`: wrangler's local state
 * instead), first copied into a temporary folder, parts in parallel.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseConfig } from '../src/config';
import { connectNodeDatabase, type NodeDatabase } from '../src/db/connect-node';
import { DataFolderInUseError } from '../src/db/data-folder-lock';
import { BackupError } from '../src/maintenance/backup-format';
import { downloadBackup } from '../src/maintenance/download-backup';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { restoreBackup, type RestoreProgress, type SqlSession } from '../src/maintenance/restore-backup';
import { SCHEMA_VERSION } from '../src/db/schema-version';
import { localR2Reader, wranglerR2Reader } from '../src/maintenance/wrangler-r2-reader';
import { NODE_DEFAULTS } from '../src/node-app';

const usage = 'usage: npm run restore -- --from <folder | r2://bucket/prefix/> --to <postgres://… | embedded | <data folder>> [--force] [--r2-persist-to <dir>]';
const { values } = parseArgs({
  options: { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean', default: false }, 'r2-persist-to': { type: 'string' } },
});
if (!values.from || !values.to) {
  console.error(usage);
  process.exit(2);
}
const started = performance.now();
const say = (line: string) => console.log(`restore: ${line} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
const count = (n: number) => n.toLocaleString('en-US');
function report(progress: RestoreProgress) {
  if (progress.step === 'verify') say(`verified ${progress.partsDone}/${progress.parts} parts`);
  if (progress.step === 'load') say(`loaded ${progress.partsDone}/${progress.parts} parts, ${count(progress.rowsDone)}/${count(progress.rows)} rows`);
  if (progress.step === 'rebuild') say(`rebuilding ${progress.indexes} indexes and ${progress.foreignKeys} foreign keys`);
}

/** The target, migrated, and the one session the restore runs in. */
async function openTarget(to: string): Promise<{ session: SqlSession; description: string; close(): Promise<void> }> {
  if (/^postgres(ql)?:\/\//.test(to)) {
    const migrated = await connectNodeDatabase({ kind: 'postgres', url: to, maxConnections: 1 });
    await migrated.close();
    const client = new pg.Client({ connectionString: to });
    await client.connect();
    return { session: client, description: migrated.description, close: () => client.end() };
  }
  const dataRoot = path.resolve(to === 'embedded' ? parseConfig(process.env, NODE_DEFAULTS).node.dataDir : to);
  const database: NodeDatabase = await connectNodeDatabase({ kind: 'pglite', dataDir: path.join(dataRoot, 'pglite') });
  return { session: database.pglite!, description: database.description, close: () => database.close() };
}

const cleanups: Array<() => Promise<void>> = [];
try {
  const target = await openTarget(values.to);
  cleanups.unshift(target.close);
  let store = folderObjectStore(path.resolve(values.from));
  const r2 = values.from.match(/^r2:\/\/([^/]+)\/?(.*)$/);
  if (r2) {
    const [, bucket, prefix] = r2 as [string, string, string];
    const reader = values['r2-persist-to'] ? await localR2Reader(bucket, values['r2-persist-to']) : await wranglerR2Reader(bucket);
    const staging = await mkdtemp(path.join(tmpdir(), 'qaboard-restore-'));
    cleanups.unshift(() => rm(staging, { recursive: true, force: true }));
    store = folderObjectStore(staging);
    try {
      await downloadBackup(reader, prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix, store, {
        onPart: (done, parts) => say(`copied ${done}/${parts} parts from ${values.from}`),
      });
    } finally {
      await reader.close();
    }
  }
  const { manifest, rows } = await restoreBackup(target.session, store, '', { force: values.force, onProgress: report });
  if (manifest.schemaVersion !== SCHEMA_VERSION) console.warn(`note: backup schema ${manifest.schemaVersion}, database now at ${SCHEMA_VERSION}`);
  say(`restored ${count(Object.values(rows).reduce((a, b) => a + b, 0))} rows into ${target.description}: ${JSON.stringify(rows)}`);
} catch (error) {
  if (error instanceof DataFolderInUseError) {
    console.error(`restore refused: ${error.message}. Stop the QA-Board server first: a restore replaces the data it serves.`);
  } else if (error instanceof BackupError) {
    console.error(`restore refused: ${error.message}`);
  } else {
    throw error;
  }
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups) await cleanup();
}
