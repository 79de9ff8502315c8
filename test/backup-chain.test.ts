/** A backup split across queue messages (as the Worker runs it) equals the one taken at once. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InProcessQueue } from '../src/jobs/in-process-queue';
import { backupStepHandler, firstBackupStep, MAINTENANCE_QUEUE, type BackupStepJob } from '../src/maintenance/backup-chain';
import { BACKUP_TABLES, type BackupManifest } from '../src/maintenance/backup-format';
import { exportBackup } from '../src/maintenance/export-backup';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { SCHEMA_VERSION } from '../src/db/schema-version';
import { seedBackupData } from './support/backup-seed';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';

const settings = { keepDailyBackups: 7, keepWeeklyBackups: 4, staleRunHours: 24, rowsPerPart: 700 };

describe.each(engineNames)('backup through the queue on %s', (engine) => {
  let database: TestDatabase;
  let folder: string;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    await seedBackupData(database.db, 2_000, 6);
    folder = await mkdtemp(path.join(tmpdir(), 'qaboard-chain-'));
  });
  afterAll(async () => {
    await database?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  test('one part per message, then the manifest: the same parts as an export at once', async () => {
    const store = folderObjectStore(folder);
    const queue = new InProcessQueue<BackupStepJob>({ name: MAINTENANCE_QUEUE, delayScale: 0 });
    const steps: BackupStepJob[] = [];
    // The output files the database refers to: counted in the manifest, not copied.
    const artifacts = folderObjectStore(path.join(folder, 'artifacts'));
    const sha = 'ab'.repeat(20);
    await artifacts.put(`group/repo/${sha}/1/2/img/a.png`, new Uint8Array(10));
    await artifacts.put(`group/repo/${sha}/artifacts/bin/run`, new Uint8Array(5));
    await artifacts.put('stray.txt', new Uint8Array(3));
    const handle = backupStepHandler(database.db, store, queue, settings, artifacts);
    queue.consume(async (job, attempts) => {
      steps.push(job);
      await handle(job, attempts);
    });
    await queue.send(firstBackupStep('backups/2026-11-28/', new Date('2026-11-28T03:17:00Z')));
    await queue.idle();

    const chained = JSON.parse(new TextDecoder().decode((await store.get('backups/2026-11-28/manifest.json'))!)) as BackupManifest;
    const atOnce = await exportBackup(database.db, store, { prefix: 'backups/2026-11-28/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 700 });
    expect(chained.parts).toEqual(atOnce.parts);
    expect(chained.artifacts).toEqual({
      listedAt: chained.finishedAt,
      objects: 3,
      bytes: 18,
      projects: { 'group/repo': { objects: 2, bytes: 15 }, '': { objects: 1, bytes: 3 } },
      complete: true,
    });
    expect(atOnce.artifacts).toBeUndefined();
    expect(await store.list('backups/2026-11-28/group/')).toEqual([]);
    expect(chained.parts.filter((p) => p.table === 'outputs').map((p) => p.rows)).toEqual([700, 700, 600]);
    // One message per part, one per table to find it finished, one for the manifest.
    expect(steps).toHaveLength(chained.parts.length + BACKUP_TABLES.length + 1);
    expect(queue.deadLetters).toEqual([]);
  });
});
