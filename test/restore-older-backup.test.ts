import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { connectNodeDatabase } from '../src/db/connect-node';
import { SCHEMA_VERSION } from '../src/db/schema-version';
import { sha256Hex } from '../src/lib/digest';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { gunzip, type BackupManifest } from '../src/maintenance/backup-format';
import { exportBackup } from '../src/maintenance/export-backup';
import { restoreBackup } from '../src/maintenance/restore-backup';
import { seedBackupData } from './support/backup-seed';

test('a backup written before a column was added (0012: test_inputs.updated_at) restores, the column taking its default', async () => {
  const source = await connectNodeDatabase({ kind: 'pglite' });
  const target = await connectNodeDatabase({ kind: 'pglite' });
  const folder = await mkdtemp(path.join(tmpdir(), 'qaboard-older-backup-'));
  try {
    await seedBackupData(source.db, 100);
    const store = folderObjectStore(folder);
    const manifest = await exportBackup(source.db, store, { prefix: '', schemaVersion: SCHEMA_VERSION });
    // What 0011 wrote: the same rows without the column.
    const parts = manifest.parts.filter((p) => p.table === 'test_inputs');
    expect(parts.length).toBeGreaterThan(0);
    for (const part of parts) {
      const file = path.join(folder, part.key);
      const lines = (await gunzip(new Uint8Array(await readFile(file)))).split('\n').filter(Boolean);
      const rows = lines.map((line) => {
        const { updated_at: _, ...row } = JSON.parse(line) as Record<string, unknown>;
        return JSON.stringify(row);
      });
      const body = gzipSync(`${rows.join('\n')}\n`);
      await writeFile(file, body);
      part.sha256 = await sha256Hex(new Uint8Array(body));
    }
    const older: BackupManifest = { ...manifest, schemaVersion: '0011_file_moves_outbox' };
    await writeFile(path.join(folder, 'manifest.json'), JSON.stringify(older));

    await restoreBackup(target.pglite!, store, '');
    const count = (db: typeof source.db) => queryRows<{ n: number; dated: number }>(db, sql`SELECT count(*)::int AS n, count(updated_at)::int AS dated FROM test_inputs`);
    const [restored] = await count(target.db);
    expect(restored).toEqual({ n: (await count(source.db))[0]!.n, dated: restored!.n });
    expect(restored!.n).toBeGreaterThan(0);
  } finally {
    await source.close();
    await target.close();
    await rm(folder, { recursive: true, force: true });
  }
});
