/**
 * Node entry: serves the API on `DATABASE_URL` (any Postgres) or, by default, on an embedded PGlite
 * database persisted in `QABOARD_DATA_DIR` — no server or Cloudflare account needed. The Worker's
 * cron jobs run in process, with backups in `QABOARD_DATA_DIR/backups`. On the embedded database this
 * process is the folder's only owner (db/data-folder-lock.ts), and `npm run backup` reaches it through
 * its control socket (maintenance/control-socket.ts). `npm start` runs this file bundled by esbuild.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { announceAuthMode } from './auth/announce-auth-mode';
import { parseConfig } from './config';
import { connectNodeDatabase } from './db/connect-node';
import { inProcessGitLabQueue, inProcessRunRequestQueue, inProcessVerdictQueue } from './gitlab/in-process-gitlab-queue';
import { withApiReferenceAssets } from './lib/api-reference-assets';
import { serveControlSocket } from './maintenance/control-socket';
import { backupToFolder } from './maintenance/folder-backup';
import { folderObjectStore } from './lib/folder-object-store';
import { startMaintenanceSchedule } from './maintenance/in-process-schedule';
import { consoleLogger } from './lib/logger';
import { stdoutLogger } from './lib/stdout-logger';
import { NODE_DEFAULTS, nodeApp } from './node-app';

/** The commit of the checkout being served, when it is one (for `/api/v1/version`). */
function checkedOutCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 }).toString().trim();
  } catch {
    return undefined;
  }
}

const config = parseConfig(process.env, NODE_DEFAULTS);
const { port, host } = config.node;
const dataRoot = path.resolve(config.node.dataDir);
announceAuthMode(config);
const database = await connectNodeDatabase(
  config.databaseUrl
    ? {
        kind: 'postgres',
        url: config.databaseUrl,
        timeouts: config.database,
        untilReachable: (error, retryInMs) =>
          consoleLogger.log('warn', { database: 'unreachable at start: serving (uploads spool, reads 503) and retrying', retry_in_ms: retryInMs, error: String(error) }),
      }
    : { kind: 'pglite', dataDir: path.join(dataRoot, 'pglite') },
);
const gitlabQueue = config.gitlab && inProcessGitLabQueue(database.db, config.gitlab);
const runRequestQueue = config.gitlab && inProcessRunRequestQueue(database.db, config.gitlab);
const verdictQueue = config.gitlab && inProcessVerdictQueue(database.db, config.gitlab, { webAppUrl: config.webAppUrl });
const app = nodeApp(database.db, config, {
  logger: stdoutLogger(),
  gitlabQueue,
  runRequestQueue,
  verdictQueue,
  spoolFolder: path.join(dataRoot, 'spool'),
  artifactsFolder: path.join(dataRoot, 'artifacts'),
  gitSha: checkedOutCommit(),
  databaseReady: database.ready,
});
void database.ready.then(() => app.spoolDrain.kick());
const stopSchedule = startMaintenanceSchedule(
  database.db,
  { backups: folderObjectStore(path.join(dataRoot, 'backups')), artifacts: folderObjectStore(path.join(dataRoot, 'artifacts')) },
  config.maintenance,
  app.fileDeletions,
);

const control =
  database.lock &&
  (await serveControlSocket(dataRoot, async (request, progress) => {
    if (request.command !== 'backup') throw new Error(`unknown command "${String(request.command)}"`);
    return backupToFolder(database.db, request.to, progress, config.maintenance.rowsPerPart);
  }));
if (control) database.lock!.advertise(control.path);

const server = serve({ fetch: withApiReferenceAssets(app.fetch), port, hostname: host }, (info) => {
  console.log(`QA-Board API on http://${host}:${info.port} (${database.description})`);
  console.log(`  try: curl http://${host}:${info.port}/api/v1/projects`);
});
// Idle keep-alive connections stay open longer than the proxies in front keep theirs (nginx's upstream
// connections, AWS load balancers: 60 s). Node's default, 5 s, closes a connection just as a proxy may
// reuse it, and that request fails: a proxy doesn't send a POST (an upload) again.
if (server instanceof http.Server) {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000; // above keepAliveTimeout: the usual pairing behind load balancers
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopSchedule();
    app.spoolDrain.stop();
    server.close();
    void Promise.all([control?.close(), database.close()]).then(() => process.exit(0));
  });
}
