/**
 * The Node entry's Cron Triggers: the Worker's schedules (the same constants), run in process by
 * croner in UTC, one job at a time. A schedule whose previous run is still going skips its turn
 * instead of piling up.
 */
import { Cron } from 'croner';
import type { Db } from '../db/client';
import { describeFailure } from '../lib/database-failure';
import type { BlobStore, ObjectStore } from '../lib/object-store';
import type { JobQueue } from '../jobs/job-queue';
import type { DeleteFilesJob } from './file-deletions';
import { backupAtOnce, DAILY_BACKUP_CRON, HOURLY_CLEANUP_CRON, runScheduledMaintenance, type MaintenanceSettings } from './scheduled-jobs';

const startOfMinute = (date: Date) => new Date(Math.floor(date.getTime() / 60_000) * 60_000);

export function startMaintenanceSchedule(
  db: Db,
  stores: { backups: BlobStore; artifacts: ObjectStore },
  settings: MaintenanceSettings,
  fileDeletions: JobQueue<DeleteFilesJob>,
): () => void {
  const startBackup = backupAtOnce(db, stores.backups, settings, stores.artifacts);
  let running = Promise.resolve();
  const jobs = [DAILY_BACKUP_CRON, HOURLY_CLEANUP_CRON].map(
    (cron) =>
      new Cron(cron, { timezone: 'UTC', mode: '5-part', protect: true, unref: true }, async (job) => {
        // Like Cron Triggers' `scheduledTime`: the minute the schedule fired for.
        const at = startOfMinute(job.currentRun() ?? new Date());
        running = running
          .then(() => runScheduledMaintenance(db, startBackup, settings, cron, at, fileDeletions))
          .catch((error) => console.error(JSON.stringify({ level: 'error', schedule: cron, ...describeFailure(error) })));
        await running;
      }),
  );
  return () => jobs.forEach((job) => job.stop());
}
