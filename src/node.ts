/**
 * Node entry: serves the API on `DATABASE_URL` (any Postgres) or, by default, on an embedded PGlite
 * database persisted in `QABOARD_DATA_DIR` — no server or Cloudflare account needed. The Worker's
 * cron jobs run in process, with backups in `QABOARD_DATA_DIR/backups`.
 */
import path from 'node:path';
import { serve } from '@hono/node-server';
import { buildApp } from './app';
import { parseConfig } from './config';
import { connectNodeDatabase } from './db/connect-node';
import { warnWhenOpen } from './auth/warn-open';
import { memoryRateLimiter } from './lib/rate-limit';
import { inProcessGitLabQueue } from './gitlab/in-process-queue';
import { folderBlobStore } from './maintenance/folder-blob-store';
import { startMaintenanceSchedule } from './maintenance/in-process-schedule';

const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? '127.0.0.1';
const dataRoot = path.resolve(process.env.QABOARD_DATA_DIR ?? '.data');
const dataDir = path.join(dataRoot, 'pglite');

const config = parseConfig(process.env);
warnWhenOpen(config);
const database = await connectNodeDatabase(
  process.env.DATABASE_URL ? { kind: 'postgres', url: process.env.DATABASE_URL } : { kind: 'pglite', dataDir },
);
const gitlabQueue = config.gitlab && inProcessGitLabQueue(database.db, config.gitlab);
const services = { db: database.db, config, gitlabQueue, rateLimiter: memoryRateLimiter(config.rateLimitPerMinute) };
const app = buildApp({ services: () => ({ services }) });
const stopSchedule = startMaintenanceSchedule(database.db, folderBlobStore(path.join(dataRoot, 'backups')), config.maintenance);

const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
  console.log(`QA-Board API on http://${host}:${info.port} (${database.description})`);
  console.log(`  try: curl http://${host}:${info.port}/api/v1/projects`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopSchedule();
    server.close();
    void database.close().then(() => process.exit(0));
  });
}
