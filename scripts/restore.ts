/**
 * Restores a backup folder into a Postgres database: applies migrations, verifies every part
 * against the manifest, loads everything in one transaction, resets sequences.
 *
 *   npm run restore -- --from <folder | r2://bucket/prefix/> --to <DATABASE_URL> [--force] [--r2-persist-to <dir>]
 *
 * An R2 backup is read with the operator's `wrangler` login (`--r2-persist-to`: wrangler's local state instead).
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { connectNodeDatabase } from '../src/db/connect-node';
import { folderBlobStore } from '../src/maintenance/folder-blob-store';
import { BackupError, restoreBackup } from '../src/maintenance/restore-backup';
import { SCHEMA_VERSION } from '../src/db/schema-version';
import { wranglerR2Reader } from '../src/maintenance/wrangler-r2-reader';

const { values } = parseArgs({
  options: { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean', default: false }, 'r2-persist-to': { type: 'string' } },
});
if (!values.from || !values.to) {
  console.error('usage: npm run restore -- --from <folder | r2://bucket/prefix/> --to <DATABASE_URL> [--force] [--r2-persist-to <dir>]');
  process.exit(2);
}
const r2 = values.from.match(/^r2:\/\/([^/]+)\/?(.*)$/);
const source = r2
  ? { store: wranglerR2Reader(r2[1]!, { persistTo: values['r2-persist-to'] }), prefix: r2[2] && !r2[2].endsWith('/') ? `${r2[2]}/` : (r2[2] ?? '') }
  : { store: folderBlobStore(values.from), prefix: '' };
const migrated = await connectNodeDatabase({ kind: 'postgres', url: values.to });
await migrated.close();
const client = new pg.Client({ connectionString: values.to });
await client.connect();
const started = performance.now();
try {
  const { manifest, rows } = await restoreBackup(client, source.store, source.prefix, { force: values.force });
  if (manifest.schemaVersion !== SCHEMA_VERSION) console.warn(`note: backup schema ${manifest.schemaVersion}, database now at ${SCHEMA_VERSION}`);
  const total = Object.values(rows).reduce((a, b) => a + b, 0);
  console.log(`restored ${total} rows in ${((performance.now() - started) / 1000).toFixed(1)} s:`, rows);
} catch (error) {
  if (!(error instanceof BackupError)) throw error;
  console.error(`restore refused: ${error.message}`);
  process.exitCode = 1;
} finally {
  await client.end();
}
