/**
 * Neon's SQL-over-HTTP path (`neon()`, drizzle-orm/neon-http) against a real Postgres through the local
 * endpoint of scripts/neon-ws-proxy.ts. Needs a Postgres server: skipped without TEST_DATABASE_URL.
 */
import { neon, neonConfig, NeonDbError, Pool as NeonPool, type NeonQueryFunction } from '@neondatabase/serverless';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { drizzle, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import { integer, jsonb, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import ws from 'ws';
import { startNeonWsProxy, type NeonWsProxy } from '../scripts/neon-ws-proxy';
import { configureNeonForProxy } from '../src/db/connect-neon';
import { databaseFailure } from '../src/lib/database-failure';
import { createScratchDatabase } from './support/databases';
import { freePort } from './support/node-entry';

const baseUrl = process.env.TEST_DATABASE_URL;

const notes = pgTable('notes', {
  id: serial('id').primaryKey(),
  title: text('title').notNull().unique(),
  rank: integer('rank'),
  meta: jsonb('meta'),
  at: timestamp('at', { withTimezone: true }),
  tags: text('tags').array(),
  scores: integer('scores').array(),
});
type Note = typeof notes.$inferSelect;
type Json = Record<string, any>;

const answer = async (response: Response) => ({ status: response.status, body: (await response.json()) as Json });

/** The SQLSTATE of a driver error, also when Drizzle wraps it. */
const sqlState = (error: unknown) => (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;

describe.skipIf(!baseUrl)('neon() and drizzle neon-http over the local SQL-over-HTTP endpoint (needs TEST_DATABASE_URL)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let proxy: NeonWsProxy;
  let sql: NeonQueryFunction<false, false>;
  let db: NeonHttpDatabase;

  /** One request as the driver would send it, to see the protocol itself. */
  const post = async (body: unknown, headers: Record<string, string> = {}) =>
    answer(
      await fetch(proxy.sqlUrl, {
        method: 'POST',
        headers: { 'Neon-Connection-String': scratch.url, 'Neon-Raw-Text-Output': 'true', 'Neon-Array-Mode': 'true', ...headers },
        body: JSON.stringify(body),
      }),
    );
  const count = async () => Number((await sql`SELECT count(*) AS n FROM notes`)[0]!.n);

  beforeAll(async () => {
    scratch = await createScratchDatabase(baseUrl!);
    proxy = await startNeonWsProxy();
    configureNeonForProxy(proxy.url);
    sql = neon(scratch.url);
    db = drizzle({ client: sql });
    await sql`CREATE TABLE notes (id serial PRIMARY KEY, title text NOT NULL UNIQUE, rank int, meta jsonb, at timestamptz, tags text[], scores int[])`;
  });
  afterAll(async () => {
    await proxy?.close();
    await scratch?.drop();
  });
  beforeEach(async () => {
    await sql`TRUNCATE notes RESTART IDENTITY`;
  });

  test('drizzle inserts and selects text, int, jsonb, timestamptz, arrays, nulls and unicode unchanged', async () => {
    const full = {
      title: 'Grüße, 世界 🚀 "quoted", back\\slash',
      rank: -2147483648,
      meta: { nested: { list: [1, 'two', null, true], text: 'é✓\n"x"' }, big: 9007199254740991 },
      at: new Date('2024-02-29T23:59:59.123Z'),
      tags: ['a,b', 'with "quotes"', 'NULL', '', '{braces}', 'ü'],
      scores: [1, -2, 2147483647],
    };
    const empty = { title: 'nulls', rank: null, meta: null, at: null, tags: null, scores: null };
    const inserted = await db.insert(notes).values([full, empty]).returning();
    expect(inserted).toEqual<Note[]>([{ id: 1, ...full }, { id: 2, ...empty }]);

    expect(await db.select().from(notes).where(and(eq(notes.title, full.title), eq(notes.rank, full.rank)))).toEqual([{ id: 1, ...full }]);
    expect(await db.select({ id: notes.id }).from(notes).where(isNull(notes.meta))).toEqual([{ id: 2 }]);
    const [updated] = await db.update(notes).set({ meta: { v: 'ß' }, at: new Date(0) }).where(eq(notes.id, 2)).returning();
    expect(updated).toMatchObject({ meta: { v: 'ß' }, at: new Date(0) });
  });

  test('db.batch is one transaction: when its last statement fails nothing is written, and the error keeps its SQLSTATE', async () => {
    await db.insert(notes).values({ title: 'existing' });
    const error = await db
      .batch([
        db.insert(notes).values({ title: 'first' }),
        db.update(notes).set({ rank: 7 }).where(eq(notes.title, 'existing')),
        db.insert(notes).values({ title: 'existing' }),
      ])
      .catch((e: unknown) => e);
    expect(sqlState(error)).toBe('23505');
    expect(error).toMatchObject({ constraint: 'notes_title_key', table: 'notes', detail: 'Key (title)=(existing) already exists.' });
    expect(await db.select({ title: notes.title, rank: notes.rank }).from(notes)).toEqual([{ title: 'existing', rank: null }]);

    const [inserted, updated, all] = await db.batch([
      db.insert(notes).values({ title: 'first' }).returning({ title: notes.title }),
      db.update(notes).set({ rank: 7 }).where(eq(notes.title, 'existing')).returning({ rank: notes.rank }),
      db.select({ title: notes.title }).from(notes).orderBy(asc(notes.id)),
    ]);
    expect(inserted).toEqual([{ title: 'first' }]);
    expect(updated).toEqual([{ rank: 7 }]);
    expect(all).toEqual([{ title: 'existing' }, { title: 'first' }]);
  });

  test('values come back as Postgres text with their dataTypeIDs, as arrays or objects per Neon-Array-Mode', async () => {
    const query = `SELECT 1::int AS n, true AS b, '{"a": [1, "x"]}'::jsonb AS j, NULL::text AS z, ARRAY['x', 'y z'] AS arr, 1.50::numeric AS num`;
    const text = ['1', 't', '{"a": [1, "x"]}', null, '{x,"y z"}', '1.50'];
    const names = ['n', 'b', 'j', 'z', 'arr', 'num'];

    const { status, body } = await post({ query, params: [] });
    expect(status).toBe(200);
    expect(body).toMatchObject({ command: 'SELECT', rowCount: 1, rowAsArray: true, rows: [text] });
    expect(body.fields.map((f: { name: string; dataTypeID: number }) => [f.name, f.dataTypeID])).toEqual(
      [[ 'n', 23 ], [ 'b', 16 ], [ 'j', 3802 ], [ 'z', 25 ], [ 'arr', 1009 ], [ 'num', 1700 ]],
    );
    const objects = await post({ query }, { 'Neon-Array-Mode': 'false' });
    expect(objects.body).toMatchObject({ rowAsArray: false, rows: [Object.fromEntries(names.map((name, i) => [name, text[i]]))] });
    // A statement's own arrayMode wins over the header.
    expect((await post({ query, arrayMode: true }, { 'Neon-Array-Mode': 'false' })).body).toMatchObject({ rows: [text] });

    // Parameters other clients may send as JSON values become Postgres text as on Neon (the driver sends strings).
    const typed = await post({
      query: 'SELECT $1::int[] AS a, $2::jsonb AS j, $3::bool AS b, $4::int AS n, $5::text[] AS t',
      params: [[1, null, 3], { x: 'y' }, true, 7, [['a"b', 'c\\d'], [null, 'e']]],
    });
    expect(typed.body.rows).toEqual([['{1,NULL,3}', '{"x": "y"}', 't', '7', '{{"a\\"b","c\\\\d"},{NULL,e}}']]);

    // The driver parses the text by type; arrayMode and fullResults are its views of the same answer.
    const parsed = [1, true, { a: [1, 'x'] }, null, ['x', 'y z'], '1.50'];
    expect(await sql.query(query)).toEqual([Object.fromEntries(names.map((name, i) => [name, parsed[i]]))]);
    expect(await neon(scratch.url, { arrayMode: true }).query(query)).toEqual([parsed]);
    expect(await sql.query('SELECT $1::text[] AS t, $2::int AS i', [['a', null, '"'], 5], { fullResults: true })).toMatchObject({
      command: 'SELECT', rowCount: 1, rows: [{ t: ['a', null, '"'], i: 5 }],
    });
  });

  test('sql.transaction opens its transaction with the isolation level, read-only and deferrable flags it asks for', async () => {
    const settings = (options: Parameters<typeof sql.transaction>[1]) =>
      sql.transaction((tx) => [tx`SHOW transaction_isolation`, tx`SHOW transaction_read_only`, tx`SHOW transaction_deferrable`], options);
    expect((await settings({ isolationLevel: 'Serializable', readOnly: true, deferrable: true })).flat()).toEqual([
      { transaction_isolation: 'serializable' }, { transaction_read_only: 'on' }, { transaction_deferrable: 'on' },
    ]);
    expect((await settings({ isolationLevel: 'RepeatableRead' })).flat()).toEqual([
      { transaction_isolation: 'repeatable read' }, { transaction_read_only: 'off' }, { transaction_deferrable: 'off' },
    ]);
    const error = await sql.transaction([sql`INSERT INTO notes (title) VALUES ('x')`], { readOnly: true }).catch((e: unknown) => e);
    expect(sqlState(error)).toBe('25006');
    expect(await count()).toBe(0);
    const invalid = await post({ queries: [{ query: 'SELECT 1' }] }, { 'Neon-Batch-Isolation-Level': 'Chaos' });
    expect(invalid).toEqual({ status: 400, body: { message: 'invalid isolation level' } });
  });

  test('a failing statement answers 400 with the Postgres error fields, which the driver puts on a NeonDbError', async () => {
    await sql`INSERT INTO notes (title) VALUES ('dup')`;
    const duplicate = await sql`INSERT INTO notes (title) VALUES (${'dup'})`.catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(NeonDbError);
    expect(duplicate).toMatchObject({
      code: '23505', severity: 'ERROR', constraint: 'notes_title_key', table: 'notes', schema: 'public',
      detail: 'Key (title)=(dup) already exists.', message: 'duplicate key value violates unique constraint "notes_title_key"',
    });
    expect(await sql`SELEC 1`.catch((e: unknown) => e)).toMatchObject({ code: '42601', position: '1' });

    expect(await post({ query: 'SELECT 1/0' })).toMatchObject({
      status: 400,
      body: { message: 'division by zero', code: '22012', severity: 'ERROR', detail: null },
    });
    // One statement per query, as on Neon: a second statement smuggled into the string is refused.
    const smuggled = await post({ query: `SELECT 1; INSERT INTO notes (title) VALUES ('smuggled')` });
    expect(smuggled).toMatchObject({ status: 400, body: { code: '42601' } });
    expect(await count()).toBe(1);
    // Connecting is part of the request: a missing database is the client's error too.
    const missing = await post({ query: 'SELECT 1' }, { 'Neon-Connection-String': `${baseUrl!.replace(/\/[^/]*$/, '')}/no_such_database` });
    expect(missing).toMatchObject({ status: 400, body: { code: '3D000' } });
  });

  test("a database nobody answers for is a server error, which the app takes for the database's absence (503, uploads spooled)", async () => {
    // A port nobody listens on (it was free a moment ago).
    const unreachable = neon(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`);
    const error = await unreachable`SELECT 1`.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect((error as Error).message).toMatch(/^Server error \(HTTP status 500\)/);
    expect(databaseFailure(error)).toMatchObject({ unavailable: true, conflict: false });
    // A 400 is the statement's own error, not the database's absence.
    expect(databaseFailure(await sql`SELECT 1/0`.catch((e: unknown) => e))).toMatchObject({ code: '22012', unavailable: false });
  });

  test('requests the endpoint cannot serve faithfully are refused with 400 and a reason', async () => {
    const refusals = await Promise.all([
      post({ query: 'SELECT 1' }, { 'Neon-Connection-String': '' }),
      post({ query: 'SELECT 1' }, { 'Neon-Raw-Text-Output': 'false' }),
      post({ query: 'SELECT 1' }, { Authorization: 'Bearer a.jwt.token' }),
      post({ params: [] }),
      fetch(proxy.sqlUrl, { method: 'POST', headers: { 'Neon-Connection-String': scratch.url, 'Neon-Raw-Text-Output': 'true' }, body: '{' }).then(answer),
    ]);
    expect(refusals.map(({ status, body }) => [status, body.message])).toEqual([
      [400, 'Neon-Connection-String header missing or not a postgres:// URL'],
      [400, 'the local SQL-over-HTTP endpoint supports only Neon-Raw-Text-Output: true'],
      [400, 'the local SQL-over-HTTP endpoint does not support JWT authentication (authToken)'],
      [400, 'query must be a string'],
      [400, 'request body is not JSON'],
    ]);
  });

  test('sequential queries and transactions reuse one or two Postgres sessions: the endpoint pools them', async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      pids.add(Number((await sql`SELECT pg_backend_pid() AS pid`)[0]!.pid));
      const [rows] = await sql.transaction([sql`SELECT pg_backend_pid() AS pid`]);
      pids.add(Number(rows![0]!.pid));
    }
    expect(pids.size).toBeLessThanOrEqual(2);
  });

  test('a session left inside a transaction by a lone BEGIN is not handed to the next request', async () => {
    await sql`BEGIN`;
    await sql`INSERT INTO notes (title) VALUES ('after BEGIN')`;
    // Seen from a session of its own: the insert was committed, not kept in the leftover transaction.
    const observer = new pg.Client({ connectionString: scratch.url });
    await observer.connect();
    try {
      expect((await observer.query('SELECT title FROM notes')).rows).toEqual([{ title: 'after BEGIN' }]);
    } finally {
      await observer.end();
    }
  });

  test('the same port still carries the WebSocket transport of Pool', async () => {
    neonConfig.webSocketConstructor = ws;
    const pool = new NeonPool({ connectionString: scratch.url });
    try {
      expect((await pool.query('SELECT 41 + 1 AS answer')).rows).toEqual([{ answer: 42 }]);
    } finally {
      await pool.end();
    }
  });
});
