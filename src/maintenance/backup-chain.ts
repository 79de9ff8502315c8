/**
 * A backup split across Worker invocations: each queue message exports ONE part, then queues the
 * next step, carrying the parts written so far; the last step writes the manifest and prunes old
 * backups. One invocation thus holds one part in memory and stays far from the CPU limits, whatever
 * the table sizes. Steps are idempotent — a redelivered message rewrites the same part key with the
 * same rows — so at-least-once delivery is safe.
 */
import type { Db } from '../db/client';
import type { JobHandler, JobQueue } from '../jobs/job-queue';
import { BACKUP_TABLES, type BackupPart } from './backup-format';
import type { BlobStore, ObjectStore } from '../lib/object-store';
import { artifactsCensus } from './artifacts-census';
import { exportPart, writeManifest } from './export-backup';
import { pruneBackups, type MaintenanceSettings } from './scheduled-jobs';
import { SCHEMA_VERSION } from '../db/schema-version';

export const MAINTENANCE_QUEUE = 'qaboard-maintenance';

export interface BackupStepJob {
  type: 'backup-step';
  prefix: string;
  startedAt: string;
  /** Index in BACKUP_TABLES; past the end: write the manifest. */
  table: number;
  /** Part index within the table, and the key of its last exported row. */
  part: number;
  after: unknown[] | null;
  parts: BackupPart[];
}

export const firstBackupStep = (prefix: string, now: Date): BackupStepJob => ({
  type: 'backup-step',
  prefix,
  startedAt: now.toISOString(),
  table: 0,
  part: 0,
  after: null,
  parts: [],
});

export function backupStepHandler(
  db: Db,
  store: BlobStore,
  queue: JobQueue<BackupStepJob>,
  settings: MaintenanceSettings,
  artifacts: ObjectStore,
): JobHandler<BackupStepJob> {
  return async (job) => {
    const table = BACKUP_TABLES[job.table];
    if (!table) {
      const finishedAt = new Date();
      const artifactsNow = await artifactsCensus(artifacts, () => finishedAt);
      const manifest = { schemaVersion: SCHEMA_VERSION, startedAt: job.startedAt, finishedAt: finishedAt.toISOString(), parts: job.parts, artifacts: artifactsNow };
      await writeManifest(store, job.prefix, manifest);
      await pruneBackups(store, settings);
      console.log(`backup: ${job.parts.length} parts written under ${job.prefix}`);
      return;
    }
    const result = await exportPart(db, store, job.prefix, table, job.part, job.after ?? undefined, settings.rowsPerPart);
    await queue.send(
      result
        ? { ...job, part: job.part + 1, after: result.next ?? null, parts: [...job.parts, result.part] }
        : { ...job, table: job.table + 1, part: 0, after: null },
    );
  };
}
