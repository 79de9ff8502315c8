/**
 * The Node entry runs the Worker's cron schedules in process: each job at its UTC minute, not a
 * minute before, and nothing once stopped. Fake timers drive croner's clock; the jobs run for real.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test, vi } from 'vitest';
import { queryRows } from '../src/db/client';
import { connectNodeDatabase, type NodeDatabase } from '../src/db/connect-node';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { startMaintenanceSchedule } from '../src/maintenance/in-process-schedule';
import { postJson, testApp } from './support/app';
import { outputUpload } from './support/uploads';

const SETTINGS = { keepDailyBackups: 7, keepWeeklyBackups: 4, staleRunHours: 24, rowsPerPart: 1000 };

let database: NodeDatabase;
let folder: string;
beforeAll(async () => {
  database = await connectNodeDatabase({ kind: 'pglite' });
});
afterAll(() => database?.close());
beforeEach(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'qaboard-schedule-'));
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => vi.useRealTimers());

/** Waits (on the real clock) for a job started under fake time to finish its I/O. */
async function eventually(check: () => boolean | Promise<boolean>) {
  vi.useRealTimers();
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

/** A run reported as started at `updatedAt`, never finished. */
async function runningOutputSince(updatedAt: string, input: string): Promise<number> {
  const response = await postJson(testApp(database.db), '/api/v1/output', outputUpload({ status: 'running', input }));
  const { id } = (await response.json()) as { id: number };
  await database.db.execute(sql`UPDATE outputs SET updated_at = ${updatedAt}::timestamptz WHERE id = ${id}`);
  return id;
}

const isFailed = async (id: number) =>
  (await queryRows<{ failed: boolean }>(database.db, sql`SELECT is_failed AS failed FROM outputs WHERE id = ${id}`))[0]!.failed;

test('the daily backup runs at 03:17 UTC, into the folder, and not a minute before', async () => {
  vi.setSystemTime(new Date('2026-11-28T03:16:00Z'));
  const stop = startMaintenanceSchedule(database.db, { backups: folderObjectStore(folder), artifacts: folderObjectStore(folder) }, SETTINGS, { send: async () => {} });
  const manifest = path.join(folder, 'backups', '2026-11-28', 'manifest.json');
  await vi.advanceTimersByTimeAsync(59_000); // 03:16:59
  expect(existsSync(path.join(folder, 'backups'))).toBe(false);
  await vi.advanceTimersByTimeAsync(2_000); // 03:17:01
  expect(await eventually(() => existsSync(manifest))).toBe(true);
  stop();
});

test('the hourly cleanup marks stale runs failed at minute 5, with the time it fired for', async () => {
  // Stale at 10:05 (more than 24 h without an update), not yet at 10:04.
  const stale = await runningOutputSince('2026-11-28T10:04:30Z', 'inputs/stale.jpg');
  vi.setSystemTime(new Date('2026-11-29T10:04:00Z'));
  const stop = startMaintenanceSchedule(database.db, { backups: folderObjectStore(folder), artifacts: folderObjectStore(folder) }, SETTINGS, { send: async () => {} });
  await vi.advanceTimersByTimeAsync(59_000); // 10:04:59
  expect(await isFailed(stale)).toBe(false);
  await vi.advanceTimersByTimeAsync(2_000); // 10:05:01
  expect(await eventually(() => isFailed(stale))).toBe(true);
  stop();
});

test('a stopped schedule runs nothing', async () => {
  const stale = await runningOutputSince('2026-11-28T00:00:00Z', 'inputs/left-alone.jpg');
  vi.setSystemTime(new Date('2026-11-29T10:04:00Z'));
  startMaintenanceSchedule(database.db, { backups: folderObjectStore(folder), artifacts: folderObjectStore(folder) }, SETTINGS, { send: async () => {} })();
  await vi.advanceTimersByTimeAsync(2 * 3_600_000);
  vi.useRealTimers();
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await isFailed(stale)).toBe(false);
  expect(existsSync(path.join(folder, 'backups'))).toBe(false);
});
