import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { Miniflare } from 'miniflare';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, type Db } from '../src/db/client';
import { connectNodeDatabase, type NodeDatabase } from '../src/db/connect-node';
import { BACKUP_TABLES, type BackupManifest } from '../src/maintenance/backup-format';
import { exportBackup, exportPart } from '../src/maintenance/export-backup';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { runOwned } from '../src/maintenance/owned-children';
import { restoreBackup, type RestoreProgress, type SqlSession } from '../src/maintenance/restore-backup';
import { SCHEMA_VERSION } from '../src/db/schema-version';
import { seedBackupData } from './support/backup-seed';
import { createScratchDatabase } from './support/databases';
import { runScript } from './support/node-entry';

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

interface Target {
  db: Db;
  session: SqlSession;
}

/** A database that `npm run restore -- --to <argument>` restores into, and how to open it afterwards. */
interface ScriptTarget {
  argument: string;
  open(): Promise<Db>;
}

type Cleanups = Array<() => Promise<void>>;

/** The engines a backup is restored into: the embedded PGlite always, a Postgres server with TEST_DATABASE_URL. */
const engines = {
  pglite: {
    source: () => connectNodeDatabase({ kind: 'pglite' }),
    async target(cleanups: Cleanups): Promise<Target> {
      const database = await connectNodeDatabase({ kind: 'pglite' });
      cleanups.push(() => database.close());
      return { db: database.db, session: database.pglite! };
    },
    async scriptTarget(cleanups: Cleanups): Promise<ScriptTarget> {
      const dataRoot = await mkdtemp(path.join(tmpdir(), 'qaboard-restore-target-'));
      cleanups.push(() => rm(dataRoot, { recursive: true, force: true }));
      return {
        argument: dataRoot,
        async open() {
          const restored = await connectNodeDatabase({ kind: 'pglite', dataDir: path.join(dataRoot, 'pglite') });
          cleanups.unshift(() => restored.close());
          return restored.db;
        },
      };
    },
  },
  pg: {
    async source() {
      const scratch = await createScratchDatabase(baseUrl!);
      const database = await connectNodeDatabase({ kind: 'postgres', url: scratch.url });
      return { ...database, close: async () => (await database.close(), await scratch.drop()) };
    },
    async target(cleanups: Cleanups): Promise<Target> {
      const { url, db } = await engines.pg.migratedScratch(cleanups);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      cleanups.unshift(() => client.end());
      return { db, session: client };
    },
    async scriptTarget(cleanups: Cleanups): Promise<ScriptTarget> {
      const { url, db } = await engines.pg.migratedScratch(cleanups);
      return { argument: url, open: async () => db };
    },
    async migratedScratch(cleanups: Cleanups) {
      const scratch = await createScratchDatabase(baseUrl!);
      cleanups.push(scratch.drop);
      const migrated = await connectNodeDatabase({ kind: 'postgres', url: scratch.url });
      cleanups.unshift(() => migrated.close());
      return { url: scratch.url, db: migrated.db };
    },
  },
};

describe.each(baseUrl ? (['pglite', 'pg'] as const) : (['pglite'] as const))('backup export and restore on %s', (engine) => {
  let source: NodeDatabase;
  let folder: string;
  /** What each test opened, closed after it: an in-memory PGlite holds ~150 MB. */
  const cleanups: Cleanups = [];
  const freshTarget = () => engines[engine].target(cleanups);

  beforeAll(async () => {
    source = await engines[engine].source();
    await seedBackupData(source.db, 2_500);
    folder = await mkdtemp(path.join(tmpdir(), 'qaboard-backup-'));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  afterAll(async () => {
    await source?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('round-trips every table row by row, with sequences reset', async () => {
    const store = folderObjectStore(folder);
    const manifest = await exportBackup(source.db, store, { prefix: 'full/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    expect(manifest.schemaVersion).toBe(SCHEMA_VERSION);
    expect(manifest.parts.filter((p) => p.table === 'outputs').map((p) => p.rows)).toEqual([1000, 1000, 500]);

    const target = await freshTarget();
    await restoreBackup(target.session, store, 'full/');
    expect(await snapshot(target.db)).toEqual(await snapshot(source.db));
    const [next] = await queryRows<{ id: number }>(target.db, sql`SELECT nextval(pg_get_serial_sequence('outputs', 'id'))::int AS id`);
    const [max] = await queryRows<{ id: number }>(source.db, sql`SELECT max(id) AS id FROM outputs`);
    expect(next!.id).toBe(max!.id + 1);
    // The restore drops secondary indexes and foreign keys during the load: they must all be back.
    const schemaObjects = (db: Db) =>
      queryRows<{ definition: string }>(db, sql`
        SELECT indexdef AS definition FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE contype IN ('f', 'p', 'u')
        ORDER BY 1`);
    expect(await schemaObjects(target.db)).toEqual(await schemaObjects(source.db));
    await expect(target.db.execute(sql`INSERT INTO outputs (batch_id, test_input_id, platform) VALUES (-1, -1, 'linux')`)).rejects.toThrow();
  });

  it('resumes an interrupted export to an identical backup', async () => {
    const store = folderObjectStore(folder);
    const outputs = BACKUP_TABLES.find((t) => t.name === 'outputs')!;
    // A run stopped after the first part of outputs left a stray part and no manifest.
    await exportPart(source.db, store, 'resumed/', outputs, 0, undefined, 1_000);
    const resumed = await exportBackup(source.db, store, { prefix: 'resumed/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    const uninterrupted = await exportBackup(source.db, store, { prefix: 'straight/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    const shape = (m: typeof resumed) => m.parts.map((p) => [p.table, p.rows, p.sha256]);
    expect(shape(resumed)).toEqual(shape(uninterrupted));
  });

  it('refuses a corrupt part and loads nothing', async () => {
    const store = folderObjectStore(folder);
    const manifest = await exportBackup(source.db, store, { prefix: 'corrupt/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    await writeFile(path.join(folder, 'corrupt', ...manifest.parts[3]!.key.split('/')), 'not gzip');
    const target = await freshTarget();
    await expect(restoreBackup(target.session, store, 'corrupt/')).rejects.toThrow(/corrupt: sha256 differs/);
    await expect(restoreBackup(target.session, store, 'missing/')).rejects.toThrow(/no manifest.json/);
    const [count] = await queryRows<{ n: number }>(target.db, sql`SELECT count(*)::int AS n FROM projects`);
    expect(count!.n).toBe(0);
  });

  it('refuses a non-empty target unless forced', async () => {
    const store = folderObjectStore(folder);
    const target = await freshTarget();
    await restoreBackup(target.session, store, 'full/');
    await expect(restoreBackup(target.session, store, 'full/')).rejects.toThrow(/not empty/);
    await restoreBackup(target.session, store, 'full/', { force: true });
    expect(await snapshot(target.db)).toEqual(await snapshot(source.db));
  });

  it('restores a backup moved under another prefix, also one whose manifest still carries its old prefix', async () => {
    const store = folderObjectStore(folder);
    const manifest = await exportBackup(source.db, store, { prefix: 'backups/2026-11-28/', schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    expect(manifest.parts.map((p) => p.key)).toContain('outputs/part-000002.ndjson.gz');
    await cp(path.join(folder, 'backups', '2026-11-28'), path.join(folder, 'archive', 'moved'), { recursive: true });
    // What the previous version wrote: keys with the prefix the backup was taken under.
    await cp(path.join(folder, 'backups', '2026-11-28'), path.join(folder, 'archive', 'old-format'), { recursive: true });
    const oldFormat: BackupManifest = { ...manifest, parts: manifest.parts.map((p) => ({ ...p, key: `backups/2026-11-28/${p.key}` })) };
    await writeFile(path.join(folder, 'archive', 'old-format', 'manifest.json'), JSON.stringify(oldFormat));

    for (const prefix of ['archive/moved/', 'archive/old-format/']) {
      const target = await freshTarget();
      const progress: RestoreProgress[] = [];
      await restoreBackup(target.session, store, prefix, { onProgress: (p) => progress.push(p) });
      expect(await snapshot(target.db)).toEqual(await snapshot(source.db));
      expect(progress.filter((p) => p.step === 'verify')).toHaveLength(manifest.parts.length);
      expect(progress.at(-2)).toEqual({ step: 'load', partsDone: manifest.parts.length, parts: manifest.parts.length, rowsDone: 2_500 + 2 + 20 + 20 + 50 + 20 + 3, rows: 2_615 });
    }
  });

  it("npm run restore reads a backup straight from R2 (here: wrangler's local R2 state), fast, with progress", async () => {
    const store = folderObjectStore(folder);
    const prefix = 'backups/2026-11-29/';
    const manifest = await exportBackup(source.db, store, { prefix, schemaVersion: SCHEMA_VERSION, rowsPerPart: 1_000 });
    const r2State = await mkdtemp(path.join(tmpdir(), 'qaboard-r2-state-'));
    cleanups.push(() => rm(r2State, { recursive: true, force: true }));
    // The parts through Miniflare (what wrangler runs) in process; the manifest with wrangler itself,
    // so the restore is shown to read the state wrangler writes.
    const miniflare = new Miniflare({ modules: true, script: 'export default {}', r2Buckets: ['qaboard-backups'], r2Persist: path.join(r2State, 'v3', 'r2') });
    const bucket = await miniflare.getR2Bucket('qaboard-backups');
    for (const part of manifest.parts) await bucket.put(`${prefix}${part.key}`, new Uint8Array(await readFile(path.join(folder, prefix, part.key))));
    await miniflare.dispose();
    await runOwned('npx', ['--no-install', 'wrangler', 'r2', 'object', 'put', `qaboard-backups/${prefix}manifest.json`, '--file', path.join(folder, prefix, 'manifest.json'), '--local', '--persist-to', r2State], { timeoutMs: 60_000 });

    const target = await engines[engine].scriptTarget(cleanups);
    const started = performance.now();
    const { stdout } = await runScript('restore', ['--from', `r2://qaboard-backups/${prefix}`, '--r2-persist-to', r2State, '--to', target.argument]);
    expect(performance.now() - started).toBeLessThan(30_000);
    const parts = manifest.parts.length;
    expect(stdout).toContain(`restore: copied ${parts}/${parts} parts from r2://qaboard-backups/${prefix}`);
    expect(stdout).toContain(`restore: loaded ${parts}/${parts} parts, 2,615/2,615 rows`);
    expect(await snapshot(await target.open())).toEqual(await snapshot(source.db));
  });
});
