/**
 * Exports the database to a local folder, with the code path the daily Cron uses for R2.
 *
 *   npm run backup -- --to <folder> [--report-memory]   (DATABASE_URL, or the embedded PGlite in QABOARD_DATA_DIR)
 *
 * The embedded database has one owner (src/db/data-folder-lock.ts). When the QA-Board server owns it,
 * this script asks the server, through its control socket, to run the export itself, on the data it
 * serves; otherwise it opens the database itself, and the server can't start meanwhile.
 *
 * `--report-memory` prints this process's peak RSS and heap (the benchmark reads it). The npm script
 * runs it bundled (esbuild, no TypeScript loader in memory) with V8's heap capped at 64 MB: an export
 * holds one page and one compressed part, whatever the table sizes.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config';
import { connectNodeDatabase, lockFileOf, type NodeDatabase } from '../src/db/connect-node';
import { DataFolderInUseError, lockOwner } from '../src/db/data-folder-lock';
import { sendControlRequest } from '../src/maintenance/control-socket';
import { backupToFolder } from '../src/maintenance/folder-backup';
import { NODE_DEFAULTS } from '../src/node-app';

const { values } = parseArgs({ options: { to: { type: 'string' }, 'report-memory': { type: 'boolean' } } });
if (!values.to) {
  console.error('usage: npm run backup -- --to <folder>');
  process.exit(2);
}
const folder = path.resolve(values.to);
const progress = (line: string) => console.log(`backup: ${line}`);
const config = parseConfig(process.env, NODE_DEFAULTS);
const dataDir = path.resolve(config.node.dataDir, 'pglite');

/** A server that is still starting has the lock but no control socket yet: wait for it a little. */
async function controlSocketOf(owner: DataFolderInUseError['owner']): Promise<string> {
  for (let waited = 0; !owner.control && waited < 30_000; waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const current = lockOwner(lockFileOf(dataDir));
    if (!current) throw new Error(`process ${owner.pid} released ${dataDir} meanwhile: run the backup again`);
    owner = current;
  }
  if (!owner.control) throw new Error(`process ${owner.pid} owns ${dataDir} but serves no control socket: stop it, or back up through it`);
  return owner.control;
}

let database: NodeDatabase | undefined;
try {
  database = await connectNodeDatabase(config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'pglite', dataDir });
} catch (error) {
  if (!(error instanceof DataFolderInUseError)) throw error;
  const socket = await controlSocketOf(error.owner);
  console.log(`backup: the QA-Board server (pid ${error.owner.pid}) owns ${dataDir}: it runs the export`);
  console.log(await sendControlRequest(socket, { command: 'backup', to: folder }, progress));
}

if (database) {
  const peak = { rss: 0, heap: 0 };
  const sampler = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    peak.rss = Math.max(peak.rss, rss);
    peak.heap = Math.max(peak.heap, heapUsed);
  }, 10);
  try {
    console.log(`${await backupToFolder(database.db, folder, progress, config.maintenance.rowsPerPart)} from ${database.description}`);
  } finally {
    clearInterval(sampler);
    await database.close();
  }
  if (values['report-memory']) console.log(`peak-memory rss=${peak.rss} heap=${peak.heap}`);
}
