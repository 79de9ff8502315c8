/**
 * Hot statements over Neon's SQL over HTTP go as calls of functions that keep their plans
 * (src/db/statement-functions.ts), through the local SQL-over-HTTP endpoint of scripts/neon-ws-proxy.ts
 * in front of a real, migrated Postgres. Skipped without TEST_DATABASE_URL.
 */
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startNeonWsProxy, type NeonWsProxy } from '../scripts/neon-ws-proxy';
import { preparedRows, readBatch, writeBatch, type Db } from '../src/db/client';
import { configureNeonForProxy, neonHttpDatabase } from '../src/db/connect-neon';
import { connectNodeDatabase } from '../src/db/connect-node';
import { databaseFailure } from '../src/lib/database-failure';
import { createScratchDatabase } from './support/databases';

const baseUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!baseUrl)('statements over HTTP as functions keeping their plans (needs TEST_DATABASE_URL)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let proxy: NeonWsProxy;
  let db: Db;
  let admin: pg.Client;
  /** Each test's answers are its own (the texts are the same: every test starts with no function defined). */
  let tag = 0;
  const statement = () => sql`SELECT id, ${`text ${tag}`}::text AS label, now() > ${'2000-01-01'}::timestamptz AS recent FROM projects WHERE id = ANY(${'{a,b}'}::text[]) ORDER BY id`;

  const statementFunctions = async () =>
    (
      await admin.query<{ name: string }>(
        `SELECT proname AS name FROM pg_proc WHERE pronamespace = 'qaboard_statements'::regnamespace AND proname LIKE 'qaboard_s_%' ORDER BY proname`,
      )
    ).rows.map((row) => row.name);

  beforeAll(async () => {
    scratch = await createScratchDatabase(baseUrl!);
    await (await connectNodeDatabase({ kind: 'postgres', url: scratch.url })).close(); // migrates
    proxy = await startNeonWsProxy();
    configureNeonForProxy(proxy.url);
    db = neonHttpDatabase(scratch.url);
    admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    await admin.query(`INSERT INTO projects (id, data) VALUES ('a', '{}'), ('b', '{}'), ('c', '{}')`);
    await admin.query(`CREATE TABLE measures (id int PRIMARY KEY, value int)`);
    await admin.query(`INSERT INTO measures VALUES (1, 10)`);
  });
  afterAll(async () => {
    await admin?.end();
    await proxy?.close();
    await scratch?.drop();
  });
  beforeEach(async () => {
    tag++;
    for (const name of await statementFunctions()) await admin.query(`DROP TYPE qaboard_statements.${name} CASCADE`);
  });

  test('the first call defines the function and answers as the statement does; the next ones call it', async () => {
    const expected = [
      { id: 'a', label: `text ${tag}`, recent: true },
      { id: 'b', label: `text ${tag}`, recent: true },
    ];
    expect(await preparedRows(db, statement())).toEqual(expected);
    const [name] = await statementFunctions();
    expect(name).toMatch(/^qaboard_s_[0-9a-f]{40}$/);
    expect(await preparedRows(db, statement())).toEqual(expected);
    expect(await statementFunctions()).toEqual([name]);

    // Redefined to fail, the function is what the next call runs.
    const fn = `qaboard_statements.${name}`;
    const signature = (await admin.query(`SELECT pg_get_function_identity_arguments('${fn}'::regproc) AS args`)).rows[0].args;
    await admin.query(`CREATE OR REPLACE FUNCTION ${fn}(${signature}) RETURNS SETOF ${fn}
      LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'called the function'; END $$`);
    await expect(preparedRows(db, statement())).rejects.toMatchObject({ cause: { message: 'called the function' } });
  });

  test('a dropped function is defined again by the next call, which answers', async () => {
    await preparedRows(db, statement());
    const [name] = await statementFunctions();
    await admin.query(`DROP FUNCTION qaboard_statements.${name}`); // its result type stays
    expect(await preparedRows(db, statement())).toHaveLength(2);
    expect(await statementFunctions()).toEqual([name]);
    await admin.query(`DROP TYPE qaboard_statements.${name} CASCADE`);
    expect(await preparedRows(db, statement())).toHaveLength(2);
    expect(await statementFunctions()).toEqual([name]);
  });

  test("a result type left behind by a dropped function is made again from the statement's columns", async () => {
    const read = () => sql`SELECT value, id FROM measures WHERE id = ${1} AND ${tag}::int > 0`;
    await preparedRows(db, read());
    const [name] = await statementFunctions();
    await admin.query(`DROP FUNCTION qaboard_statements.${name}`);
    await admin.query(`ALTER TABLE measures ALTER value TYPE bigint`);
    try {
      expect(await preparedRows(db, read())).toEqual([{ value: '10', id: 1 }]); // int8 comes as text, as sent as is
      expect(await preparedRows(db, read())).toEqual([{ value: '10', id: 1 }]); // through the function, defined again
      await admin.query(`CREATE OR REPLACE FUNCTION qaboard_statements.${name}(integer, integer) RETURNS SETOF qaboard_statements.${name}
        LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'called the function'; END $$`);
      await expect(preparedRows(db, read())).rejects.toMatchObject({ cause: { message: 'called the function' } });
    } finally {
      await admin.query(`DROP TYPE qaboard_statements.${name} CASCADE`);
      await admin.query(`ALTER TABLE measures ALTER value TYPE int`);
    }
  });

  test("a table changed under a function (a column's type): the statement answers, sent as is from then on", async () => {
    const read = () => sql`SELECT id, value FROM measures WHERE id = ${1} AND ${tag}::int > 0`;
    expect(await preparedRows(db, read())).toEqual([{ id: 1, value: 10 }]);
    const [name] = await statementFunctions();
    expect(await preparedRows(db, read())).toEqual([{ id: 1, value: 10 }]); // through the function
    await admin.query(`ALTER TABLE measures ALTER value TYPE numeric`);
    try {
      expect(await preparedRows(db, read())).toEqual([{ id: 1, value: '10' }]); // numeric comes as text, as sent as is
      // Sent as is from now on: a function redefined to fail is not called.
      await admin.query(`CREATE OR REPLACE FUNCTION qaboard_statements.${name}(integer, integer) RETURNS SETOF qaboard_statements.${name}
        LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'called the function'; END $$`);
      expect(await preparedRows(db, read())).toEqual([{ id: 1, value: '10' }]);
    } finally {
      await admin.query(`ALTER TABLE measures ALTER value TYPE int`);
    }
  });

  test('sessions defining the same function at once all answer, and one function is defined', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => preparedRows(db, statement())));
    for (const rows of answers) expect(rows).toHaveLength(2);
    expect(await statementFunctions()).toHaveLength(1);
  });

  test("a statement a function can't return (a column named twice) is sent as is, and answers every time", async () => {
    const twice = () => sql`SELECT id, data AS id FROM projects WHERE id = ${`c`} AND ${tag}::int > 0`;
    expect(await preparedRows(db, twice())).toEqual([{ id: {} }]);
    expect(await preparedRows(db, twice())).toEqual([{ id: {} }]);
    expect(await statementFunctions()).toEqual([]);
  });

  test('a batch defines the function of each of its statements and answers in order', async () => {
    const count = sql`SELECT count(*)::int AS n, ${tag}::int AS tag FROM projects WHERE id IN ('a', 'b', 'c')`;
    const first = [[{ id: 'a', label: `text ${tag}`, recent: true }, { id: 'b', label: `text ${tag}`, recent: true }], [{ n: 3, tag }]];
    expect(await readBatch(db, [statement(), count])).toEqual(first);
    expect(await statementFunctions()).toHaveLength(2);
    expect(await readBatch(db, [statement(), count])).toEqual(first);
    expect(await statementFunctions()).toHaveLength(2);
  });

  test('a statement failing in its function fails as it would sent as is, and writes nothing', async () => {
    const insert = (id: string) => sql`INSERT INTO projects (id, data) VALUES (${id}, ${`{"tag": ${tag}}`}::jsonb) RETURNING id`;
    expect(await preparedRows(db, insert(`new ${tag}`))).toEqual([{ id: `new ${tag}` }]);
    expect(await statementFunctions()).toHaveLength(1);
    await expect(preparedRows(db, insert('a'))).rejects.toMatchObject({ cause: { code: '23505', constraint: 'projects_pkey' } });
    expect((await admin.query(`SELECT id FROM projects WHERE data ? 'tag'`)).rows).toEqual([{ id: `new ${tag}` }]);
  });

  test('a write batch writes its statements in one transaction, through their functions, and answers in order', async () => {
    const insert = (id: string) => sql`INSERT INTO projects (id, data) VALUES (${id}, ${`{"tag": ${tag}}`}::jsonb) RETURNING id`;
    const bump = sql`UPDATE measures SET value = value + 1 WHERE id = 1 RETURNING value`;
    const before = (await admin.query<{ value: number }>('SELECT value FROM measures WHERE id = 1')).rows[0]!.value;
    expect(await writeBatch(db, [insert(`w1 ${tag}`), bump])).toEqual([[{ id: `w1 ${tag}` }], [{ value: before + 1 }]]);
    expect(await statementFunctions()).toHaveLength(2);
    expect(await writeBatch(db, [insert(`w2 ${tag}`), bump])).toEqual([[{ id: `w2 ${tag}` }], [{ value: before + 2 }]]);
    expect(await statementFunctions()).toHaveLength(2);
  });

  test('a write batch one statement of which fails writes nothing', async () => {
    const insert = (id: string) => sql`INSERT INTO projects (id, data) VALUES (${id}, ${`{"tag": ${tag}}`}::jsonb) RETURNING id`;
    expect(databaseFailure(await writeBatch(db, [insert(`kept ${tag}`), insert('a')]).catch((error) => error))).toMatchObject({ code: '23505', constraint: 'projects_pkey' });
    expect((await admin.query(`SELECT id FROM projects WHERE data ->> 'tag' = $1`, [String(tag)])).rows).toEqual([]);
    // The same, through functions defined by then.
    await writeBatch(db, [insert(`defined ${tag}`), insert(`defined too ${tag}`)]);
    expect(databaseFailure(await writeBatch(db, [insert(`kept ${tag}`), insert('a')]).catch((error) => error))).toMatchObject({ code: '23505', constraint: 'projects_pkey' });
    expect((await admin.query(`SELECT id FROM projects WHERE data ->> 'tag' = $1 ORDER BY id`, [String(tag)])).rows).toEqual([{ id: `defined ${tag}` }, { id: `defined too ${tag}` }]);
  });

  test('a read batch is refused a write (one read-only snapshot)', async () => {
    const refused = await readBatch(db, [sql`SELECT 1 AS one`, sql`UPDATE measures SET value = value WHERE id = 1 RETURNING value`]).catch((error) => error);
    expect(databaseFailure(refused)).toMatchObject({ code: '25006' });
  });
});
