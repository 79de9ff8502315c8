import type { Db } from '../db/client';
import { pruneIngestionReceipts } from '../domain/ingest/ingestion-receipts';
import type { BlobStore, ObjectStore } from '../lib/object-store';
import type { JobQueue } from '../jobs/job-queue';
import { exportBackup } from './export-backup';
import { drainFileDeletions, queueFileDeletions, type DeleteFilesJob } from './file-deletions';
import { reapExpiredSignIns } from './reap-expired-sign-ins';
import { reapStaleRuns } from './reap-stale-runs';
import { applyRetention } from './retention';
import { SCHEMA_VERSION } from '../db/schema-version';

export interface MaintenanceSettings {
  keepDailyBackups: number;
  keepWeeklyBackups: number;
  staleRunHours: number;
  rowsPerPart: number;
}

/** Cron schedules (wrangler.jsonc `triggers.crons`; the Node entry uses the same). */
export const DAILY_BACKUP_CRON = '17 3 * * *';
export const HOURLY_CLEANUP_CRON = '5 * * * *';

const BACKUPS = 'backups/';
const dayOf = (date: Date) => date.toISOString().slice(0, 10);

/**
 * Keeps the newest `daily` backups and the newest `weekly` Sunday backups, deletes the rest.
 * Only complete backups (with a manifest) count as kept; an incomplete older one is deleted too.
 */
export async function pruneBackups(store: BlobStore, settings: Pick<MaintenanceSettings, 'keepDailyBackups' | 'keepWeeklyBackups'>) {
  const keys = await store.list(BACKUPS);
  const days = [...new Set(keys.map((k) => k.slice(BACKUPS.length).split('/')[0]))].sort().reverse();
  const complete = days.filter((d) => keys.includes(`${BACKUPS}${d}/manifest.json`));
  const kept = new Set([
    ...complete.slice(0, settings.keepDailyBackups),
    ...complete.filter((d) => new Date(`${d}T00:00:00Z`).getUTCDay() === 0).slice(0, settings.keepWeeklyBackups),
    days[0], // the newest, possibly still in progress
  ]);
  const doomed = keys.filter((k) => !kept.has(k.slice(BACKUPS.length).split('/')[0]));
  await store.delete(doomed);
  return [...new Set(days.filter((d) => !kept.has(d)))];
}

/** How a runtime takes the daily backup under `prefix`: all at once (Node), or one part per queue message (Workers). */
export type StartBackup = (prefix: string) => Promise<void>;

/** The whole backup in this invocation, then pruning: for runtimes without per-invocation CPU limits. */
export const backupAtOnce =
  (db: Db, store: BlobStore, settings: MaintenanceSettings, artifacts: ObjectStore): StartBackup =>
  async (prefix) => {
    const manifest = await exportBackup(db, store, { prefix, schemaVersion: SCHEMA_VERSION, rowsPerPart: settings.rowsPerPart, artifacts });
    const pruned = await pruneBackups(store, settings);
    console.log(`backup: ${manifest.parts.length} parts written under ${prefix}, pruned ${pruned.length} old backups`);
  };

/** Runs the jobs of one schedule: `cron` is the expression that fired (controller.cron). */
export async function runScheduledMaintenance(
  db: Db,
  startBackup: StartBackup,
  settings: MaintenanceSettings,
  cron: string,
  now: Date,
  fileDeletions: JobQueue<DeleteFilesJob>,
) {
  if (cron === DAILY_BACKUP_CRON) return startBackup(`${BACKUPS}${dayOf(now)}/`);
  if (cron === HOURLY_CLEANUP_CRON) {
    await reapStaleRuns(db, now, settings.staleRunHours);
    await applyRetention(db, now, (ids) => queueFileDeletions(fileDeletions, ids));
    await drainFileDeletions(db, fileDeletions, now);
    await reapExpiredSignIns(db, now);
    const receipts = await pruneIngestionReceipts(db, now);
    if (receipts) console.log(`ingestions: forgot ${receipts} receipt chunks older than a month`);
    return;
  }
  throw new Error(`no maintenance job for schedule "${cron}"`);
}
