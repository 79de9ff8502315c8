import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, type Db } from '../src/db/client';
import { connectNodeDatabase, type NodeDatabase } from '../src/db/connect-node';
import { BACKUP_TABLES } from '../src/maintenance/backup-format';
import { exportBackup, exportPart } from '../src/maintenance/export-backup';
import { folderBlobStore } from '../src/maintenance/folder-blob-store';
import { restoreBackup } from '../src/maintenance/restore-backup';
import { SCHEMA_VERSION } from '../src/db/schema-version';
import { seedBackupData } from './support/backup-seed';
import { createScratchDatabase } from './support/databases';

const execFileAsync = promisify(execFile);

const baseUrl = process.env.TEST_DATABASE_URL;

/** Every row of every table, in key order, as Postgres' own JSON text: equal means identical. */
async function snapshot(db: Db) {
  const tables: Record<string, string[]> = {};
  for (const t of BACKUP_TABLES) {
    const order = sql.raw(t.key.map((k) => `"${k}"`).join(', '));
    tables[t.name] = (await queryRows<{ row: string }>(db, sql`SELECT to_jsonb(t)::text AS row FROM ${sql.raw(`"${t.name}"`)} t ORDER BY ${order}`)).map((r) => r.row);
  }
  return tables;
}

describe.skipIf(!baseUrl)('backup export and restore (Postgres)', () => {
  let source: NodeDatabase;
  let dropSource: () => Promise<void>;
  let folder: string;
  const scratches: Array<() => Promise<void>> = [];

  async function freshTarget() {
    const scratch = await createScratchDatabase(baseUrl!);
    scratches.push(scratch.drop);
    const migrated = await connectNodeDatabase({ kind: 'postgres', url: scratch.url });
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    scratches.unshift(async () => (await client.end(), await migrated.close()));
    return { db: migrated.db, client, url: scratch.url };
  }

  beforeAll(async () => {
    const scratch = await createScratchDatabase(baseUrl!);
    dropSource = scratch.drop;
    source = await connectNodeDatabase({ kind: 'postgres', url: scratch.url });
    await seedBackupData(source.db, 2_500);
    folder = await mkdtemp(path.join(tmpdir(), 'qaboard-backup-'));
  });

  afterAll(async () => {
    for (const drop of scratches) await drop();
    await source?.close();
    await dropSource?.();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('round-trips every table row by row, with sequences reset', async () => {
    const store = folderBlobStore(folder);
    const manifest = await exportBackup(source.db, store, { prefix: 'full/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    expect(manifest.schemaVersion).toBe(SCHEMA_VERSION);
    expect(manifest.parts.filter((p) => p.table === 'outputs').map((p) => p.rows)).toEqual([1000, 1000, 500]);

    const target = await freshTarget();
    await restoreBackup(target.client, store, 'full/');
    expect(await snapshot(target.db)).toEqual(await snapshot(source.db));
    const [next] = await queryRows<{ id: number }>(target.db, sql`SELECT nextval(pg_get_serial_sequence('outputs', 'id'))::int AS id`);
    const [max] = await queryRows<{ id: number }>(source.db, sql`SELECT max(id) AS id FROM outputs`);
    expect(next!.id).toBe(max!.id + 1);
    // The restore drops secondary indexes and foreign keys during the load: they must all be back.
    const schemaObjects = (db: typeof target.db) =>
      queryRows<{ definition: string }>(db, sql`
        SELECT indexdef AS definition FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE contype IN ('f', 'p', 'u')
        ORDER BY 1`);
    expect(await schemaObjects(target.db)).toEqual(await schemaObjects(source.db));
    await expect(target.db.execute(sql`INSERT INTO outputs (batch_id, test_input_id, platform) VALUES (-1, -1, 'linux')`)).rejects.toThrow();
  });

  it('resumes an interrupted export to an identical backup', async () => {
    const store = folderBlobStore(folder);
    const outputs = BACKUP_TABLES.find((t) => t.name === 'outputs')!;
    // A run stopped after the first part of outputs left a stray part and no manifest.
    await exportPart(source.db, store, 'resumed/', outputs, 0, undefined, 1_000);
    const resumed = await exportBackup(source.db, store, { prefix: 'resumed/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    const uninterrupted = await exportBackup(source.db, store, { prefix: 'straight/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    const shape = (m: typeof resumed) => m.parts.map((p) => [p.table, p.rows, p.sha256]);
    expect(shape(resumed)).toEqual(shape(uninterrupted));
  });

  it('refuses a corrupt part and loads nothing', async () => {
    const store = folderBlobStore(folder);
    const manifest = await exportBackup(source.db, store, { prefix: 'corrupt/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    await writeFile(path.join(folder, ...manifest.parts[3]!.key.split('/')), 'not gzip');
    const target = await freshTarget();
    await expect(restoreBackup(target.client, store, 'corrupt/')).rejects.toThrow(/corrupt: sha256 differs/);
    await expect(restoreBackup(target.client, store, 'missing/')).rejects.toThrow(/no manifest.json/);
    const [count] = await queryRows<{ n: number }>(target.db, sql`SELECT count(*)::int AS n FROM projects`);
    expect(count!.n).toBe(0);
  });

  it('refuses a non-empty target unless forced', async () => {
    const store = folderBlobStore(folder);
    const target = await freshTarget();
    await restoreBackup(target.client, store, 'full/');
    await expect(restoreBackup(target.client, store, 'full/')).rejects.toThrow(/not empty/);
    await restoreBackup(target.client, store, 'full/', { force: true });
    expect(await snapshot(target.db)).toEqual(await snapshot(source.db));
  });

  it('npm run restore reads a backup straight from R2 (here: wrangler\'s local R2 state)', async () => {
    const store = folderBlobStore(folder);
    const prefix = 'backups/2026-11-28/';
    const manifest = await exportBackup(source.db, store, { prefix, schemaVersion: SCHEMA_VERSION, rowsPerPart: 2_000 });
    const r2State = path.join(folder, 'r2-state');
    const wrangler = (...args: string[]) => execFileAsync('npx', ['wrangler', ...args, '--local', '--persist-to', r2State]);
    for (const key of [...manifest.parts.map((p) => p.key), `${prefix}manifest.json`]) {
      await wrangler('r2', 'object', 'put', `qaboard-backups/${key}`, '--file', path.join(folder, key));
    }
    const target = await freshTarget();
    await execFileAsync(process.execPath, [
      '--import', 'tsx', 'scripts/restore.ts',
      '--from', `r2://qaboard-backups/${prefix}`,
      '--to', target.url,
      '--r2-persist-to', r2State,
    ]);
    expect(await snapshot(target.db)).toEqual(await snapshot(source.db));
  });
});
