/**
 * Data migrations keep every row: migration 0003 gives test inputs a project, splitting an input
 * shared by several projects into one copy per project, with its metadata, outputs following.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { MIGRATIONS_FOLDER } from '../src/db/connect-node';
import { createScratchDatabase } from './support/databases';

interface RawDatabase {
  exec(sql: string): Promise<void>;
  rows<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

async function rawDatabase(engine: 'pglite' | 'pg'): Promise<RawDatabase> {
  if (engine === 'pglite') {
    const db = await PGlite.create();
    return { exec: async (sql) => void (await db.exec(sql)), rows: async (sql) => (await db.query(sql)).rows as never, close: () => db.close() };
  }
  const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  return {
    exec: async (sql) => void (await client.query(sql)),
    rows: async (sql) => (await client.query(sql)).rows,
    close: async () => (await client.end(), await scratch.drop()),
  };
}

const migration = (prefix: string) => {
  const file = readdirSync(MIGRATIONS_FOLDER).find((name) => name.startsWith(prefix) && name.endsWith('.sql'))!;
  return readFileSync(path.join(MIGRATIONS_FOLDER, file), 'utf8').split('--> statement-breakpoint');
};

const engines = process.env.TEST_DATABASE_URL ? (['pglite', 'pg'] as const) : (['pglite'] as const);

describe.each(engines)('migrations on %s', (engine) => {
  let database: RawDatabase;
  afterAll(() => database?.close());

  test('0003 splits inputs shared by projects into one per project, losing nothing', async () => {
    database = await rawDatabase(engine);
    for (const prefix of ['0000', '0001', '0002']) for (const statement of migration(prefix)) await database.exec(statement);
    await database.exec(`
      INSERT INTO projects (id) VALUES ('team-a/repo'), ('team-b/repo');
      INSERT INTO ci_commits (project_id, hexsha, authored_datetime) VALUES ('team-a/repo', 'aaaa', now()), ('team-b/repo', 'bbbb', now());
      INSERT INTO batches (ci_commit_id, label) SELECT id, 'default' FROM ci_commits;
      INSERT INTO test_inputs (database, path, data) VALUES
        ('/db', 'shared.jpg', '{"metadata": {"owner": "b", "iso": 100}}'),
        ('/db', 'only-a.jpg', '{"metadata": {"owner": "a"}}'),
        ('/db', 'unused.jpg', '{"metadata": {"note": "no output uses me"}}');
      INSERT INTO outputs (batch_id, test_input_id, platform, metrics)
        SELECT b.id, t.id, 'linux', jsonb_build_object('from', c.project_id)
        FROM batches b JOIN ci_commits c ON c.id = b.ci_commit_id JOIN test_inputs t ON t.path = 'shared.jpg'
        UNION ALL
        SELECT b.id, t.id, 'linux', '{}' FROM batches b JOIN ci_commits c ON c.id = b.ci_commit_id JOIN test_inputs t ON t.path = 'only-a.jpg'
        WHERE c.project_id = 'team-a/repo';`);
    const outputsBefore = await database.rows<{ id: number }>('SELECT id FROM outputs ORDER BY id');

    for (const statement of migration('0003')) await database.exec(statement);

    const inputs = await database.rows<{ project_id: string | null; path: string; data: unknown }>(
      `SELECT project_id, path, data FROM test_inputs ORDER BY path, project_id`,
    );
    expect(inputs).toEqual([
      { project_id: 'team-a/repo', path: 'only-a.jpg', data: { metadata: { owner: 'a' } } },
      { project_id: 'team-a/repo', path: 'shared.jpg', data: { metadata: { owner: 'b', iso: 100 } } },
      { project_id: 'team-b/repo', path: 'shared.jpg', data: { metadata: { owner: 'b', iso: 100 } } },
      { project_id: null, path: 'unused.jpg', data: { metadata: { note: 'no output uses me' } } },
    ]);
    // Every output kept, each now on an input of its own project.
    expect(await database.rows('SELECT id FROM outputs ORDER BY id')).toEqual(outputsBefore);
    const mismatched = await database.rows(`
      SELECT o.id FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id
      JOIN test_inputs t ON t.id = o.test_input_id WHERE t.project_id IS DISTINCT FROM c.project_id`);
    expect(mismatched).toEqual([]);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('0010 on a Postgres server', () => {
  const sessionJit = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<{ jit: string }>('SHOW jit')).rows[0]!.jit;
    } finally {
      await client.end();
    }
  };

  test("turns JIT off for the database's new sessions; a role that doesn't own the database goes on without it", async () => {
    const owned = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
    const foreign = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
    const role = `qaboard_migrator_${Date.now()}`;
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    try {
      const client = new pg.Client({ connectionString: owned.url });
      await client.connect();
      for (const statement of migration('0010')) await client.query(statement);
      await client.end();
      expect(await sessionJit(owned.url)).toBe('off');

      await admin.query(`CREATE ROLE ${role} LOGIN`);
      const url = new URL(foreign.url);
      url.username = role;
      const before = await sessionJit(foreign.url);
      const notOwner = new pg.Client({ connectionString: url.toString() });
      await notOwner.connect();
      for (const statement of migration('0010')) await notOwner.query(statement);
      await notOwner.end();
      expect(await sessionJit(foreign.url)).toBe(before);
    } finally {
      await owned.drop();
      await foreign.drop();
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});
