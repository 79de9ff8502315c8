/**
 * The Node entry's Cron Triggers: the Worker's schedules, run in process. Checks a few times a
 * minute which schedule is due in the current UTC minute, runs each at most once per minute, one
 * job at a time.
 */
import type { Db } from '../db/client';
import { cronMatches } from '../lib/cron-expression';
import type { BlobStore } from './blob-store';
import { backupAtOnce, DAILY_BACKUP_CRON, HOURLY_CLEANUP_CRON, runScheduledMaintenance, type MaintenanceSettings } from './scheduled-jobs';

const CHECK_EVERY_MS = 15_000;

export function startMaintenanceSchedule(db: Db, store: BlobStore, settings: MaintenanceSettings): () => void {
  let lastMinute = Math.floor(Date.now() / 60_000);
  const startBackup = backupAtOnce(db, store, settings);
  let queue = Promise.resolve();
  const timer = setInterval(() => {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute === lastMinute) return;
    lastMinute = minute;
    const at = new Date(minute * 60_000);
    for (const cron of [DAILY_BACKUP_CRON, HOURLY_CLEANUP_CRON].filter((c) => cronMatches(c, at))) {
      queue = queue
        .then(() => runScheduledMaintenance(db, startBackup, settings, cron, at))
        .catch((error) => console.error(JSON.stringify({ level: 'error', schedule: cron, error: String(error) })));
    }
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
