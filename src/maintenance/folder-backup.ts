import path from 'node:path';
import type { Db } from '../db/client';
import { exportBackup } from './export-backup';
import { folderObjectStore } from '../lib/folder-object-store';
import { SCHEMA_VERSION } from '../db/schema-version';

/**
 * `npm run backup`: the whole database into a local folder, with the daily Cron's export. It runs in the
 * process that owns the database — the script itself, or the Node entry through its control socket —
 * and reports each part as it is written.
 */
export async function backupToFolder(db: Db, folder: string, progress: (line: string) => void, rowsPerPart?: number): Promise<string> {
  if (!path.isAbsolute(folder)) throw new Error(`the backup folder must be an absolute path, not "${folder}"`);
  const manifest = await exportBackup(db, folderObjectStore(folder), {
    prefix: '',
    schemaVersion: SCHEMA_VERSION,
    rowsPerPart,
    onPart: (part) => progress(`${part.key}: ${part.rows} rows`),
  });
  const rows = manifest.parts.reduce((sum, p) => sum + p.rows, 0);
  return `backed up ${rows} rows in ${manifest.parts.length} parts to ${folder}`;
}
