import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { pruneBackups } from '../src/maintenance/scheduled-jobs';

const folders: string[] = [];
afterAll(() => Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))));

test('keeps the newest daily and Sunday backups, and the one in progress; deletes the rest', async () => {
  const folder = await mkdtemp(path.join(tmpdir(), 'qaboard-prune-'));
  folders.push(folder);
  const store = folderObjectStore(folder);
  const bytes = new TextEncoder().encode('{}');
  for (let day = 1; day <= 28; day++) {
    const prefix = `backups/2026-11-${String(day).padStart(2, '0')}/`;
    await store.put(`${prefix}outputs/part-000000.ndjson.gz`, bytes);
    await store.put(`${prefix}manifest.json`, bytes);
  }
  await store.put('backups/2026-11-29/outputs/part-000000.ndjson.gz', bytes); // still being written: no manifest

  const pruned = await pruneBackups(store, { keepDailyBackups: 3, keepWeeklyBackups: 2 });

  const days = [...new Set((await store.list('backups/')).map((key) => key.split('/')[1]))].sort();
  // Sundays of November 2026: 1, 8, 15, 22.
  expect(days).toEqual(['2026-11-15', '2026-11-22', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29']);
  expect(pruned).toHaveLength(23);
});
