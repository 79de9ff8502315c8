/** The Node entry runs the Worker's cron schedules in process (backups into a folder). */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { connectNodeDatabase } from '../src/db/connect-node';
import { folderBlobStore } from '../src/maintenance/folder-blob-store';
import { startMaintenanceSchedule } from '../src/maintenance/in-process-schedule';

afterEach(() => vi.useRealTimers());

test('the daily backup runs when its minute comes, into the folder', async () => {
  const database = await connectNodeDatabase({ kind: 'pglite' });
  const folder = mkdtempSync(path.join(tmpdir(), 'qaboard-backups-'));
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(new Date('2026-11-28T03:16:50Z'));
  const stop = startMaintenanceSchedule(database.db, folderBlobStore(folder), {
    keepDailyBackups: 7, keepWeeklyBackups: 4, staleRunHours: 24, rowsPerPart: 1000,
  });
  const manifest = path.join(folder, 'backups', '2026-11-28', 'manifest.json');
  vi.advanceTimersByTime(5_000); // 03:16:55: still the start minute
  vi.advanceTimersByTime(15_000); // 03:17:10: the backup's minute
  for (let i = 0; i < 100 && !existsSync(manifest); i++) await new Promise((resolve) => setImmediate(resolve));
  vi.useRealTimers();
  for (let i = 0; i < 100 && !existsSync(manifest); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  stop();
  expect(existsSync(manifest)).toBe(true);
  await database.close();
});
