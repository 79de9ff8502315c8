/**
 * Restores a backup folder into a Postgres database: applies migrations, verifies every part
 * against the manifest, loads everything in one transaction, resets sequences.
 *
 *   npm run restore -- --from <folder> --to <DATABASE_URL> [--force]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { connectNodeDatabase } from '../src/db/connect-node';
import { folderBlobStore } from '../src/maintenance/folder-blob-store';
import { BackupError, restoreBackup } from '../src/maintenance/restore-backup';
import { SCHEMA_VERSION } from '../src/maintenance/schema-version';

const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean', default: false } } });
if (!values.from || !values.to) {
  console.error('usage: npm run restore -- --from <folder> --to <DATABASE_URL> [--force]');
  process.exit(2);
}
const migrated = await connectNodeDatabase({ kind: 'postgres', url: values.to });
await migrated.close();
const client = new pg.Client({ connectionString: values.to });
await client.connect();
const started = performance.now();
try {
  const { manifest, rows } = await restoreBackup(client, folderBlobStore(values.from), '', { force: values.force });
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
