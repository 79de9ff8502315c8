import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { queryRows, type Db } from '../src/db/client';
import { VersionedTexts, versionedTexts } from '../src/lib/versioned-texts';
import { postJson, testApp, type TestApp } from './support/app';
import { emptyTables, engineNames, NEON_HTTP, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

const dialect = new PgDialect();

describe('VersionedTexts', () => {
  /** What an entry of a key, a version and a text of one-byte characters counts: theirs and 128 bytes of overhead. */
  const entryBytes = (key: string, version: string, text: string) => key.length + version.length + text.length + 128;

  test('gives a text back for the version it was stored with only', () => {
    const texts = new VersionedTexts(1000);
    texts.set('1', 'v1', 'one');
    expect(texts.get('1', 'v1')).toBe('one');
    expect(texts.get('1', 'v2')).toBeUndefined();
    texts.set('1', 'v2', 'uno');
    expect(texts.get('1', 'v1')).toBeUndefined();
    expect(texts.get('1', 'v2')).toBe('uno');
    expect(texts.bytes).toBe(entryBytes('1', 'v2', 'uno'));
  });

  test('drops the least recently used past its size; never keeps an entry larger than that', () => {
    const texts = new VersionedTexts(2 * entryBytes('a', 'v', 'aaaa'));
    texts.set('a', 'v', 'aaaa');
    texts.set('b', 'v', 'bbbb');
    expect(texts.get('a', 'v')).toBe('aaaa'); // now b is the least recently used
    texts.set('c', 'v', 'cccc');
    expect(texts.get('b', 'v')).toBeUndefined();
    expect([texts.get('a', 'v'), texts.get('c', 'v'), texts.bytes]).toEqual(['aaaa', 'cccc', 2 * entryBytes('a', 'v', 'aaaa')]);
    texts.set('big', 'v', 'x'.repeat(texts.maxBytes));
    expect(texts.get('big', 'v')).toBeUndefined();
    expect(texts.bytes).toBe(2 * entryBytes('a', 'v', 'aaaa'));
  });

  test('counts characters beyond Latin-1 as two bytes, as V8 stores them', () => {
    const texts = new VersionedTexts(1000);
    texts.set('k', 'v', 'é€');
    expect(texts.bytes).toBe(entryBytes('k', 'v', 'é€') + 2);
  });

  test('none is kept with a size of 0', () => expect(versionedTexts(0)).toBeUndefined());
});

/** `db`, running `hook.between()` (once) right after the next statement that reads batches' versions. */
function pausingAfterVersions(db: Db, hook: { between?: () => Promise<unknown> }): Db {
  const readsVersions = (text: string) => text.includes('inputs_fingerprint');
  const after = async <T>(text: string, run: () => Promise<T>) => {
    const result = await run();
    const between = hook.between;
    if (between && readsVersions(text)) {
      hook.between = undefined;
      await between();
    }
    return result;
  };
  const session = new Proxy(db._.session, {
    get(target, property, receiver) {
      if (property !== 'prepareQuery') return Reflect.get(target, property, receiver);
      return (query: { sql: string }, ...rest: unknown[]) => {
        const prepared = (target.prepareQuery as (...args: unknown[]) => { execute(): Promise<unknown> }).call(target, query, ...rest);
        return readsVersions(query.sql) ? { execute: () => after(query.sql, () => prepared.execute()) } : prepared;
      };
    },
  });
  const internals = { ...db._, session };
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === '_') return internals;
      if (property === 'execute') return (query: SQL) => after(dialect.sqlToQuery(query).sql, () => target.execute(query));
      return Reflect.get(target, property, receiver);
    },
  }) as Db;
}

/**
 * `db` on Neon's HTTP, running `hook.between()` (once) right before the second batch after it is set:
 * there a read of a commit sends the commit with its batches' versions, then, when a kept text is
 * stale, their summaries and outputs again.
 */
function pausingBeforeRereads(db: Db, hook: { between?: () => Promise<unknown> }): Db {
  let batches = 0;
  // A batch is one call of the driver's `transaction` (db/statement-functions.ts `sendBatch`), reached as db._.session.client.
  const { session } = db._ as unknown as { session: { client: { transaction(...args: unknown[]): Promise<unknown> } } };
  const transaction = async (...args: unknown[]) => {
    const between = hook.between;
    if (between && ++batches === 2) {
      hook.between = undefined;
      batches = 0;
      await between();
    }
    return session.client.transaction(...args);
  };
  const client = withProperty(session.client, 'transaction', transaction);
  return withProperty(db, '_', withProperty(db._, 'session', withProperty(session, 'client', client)));
}

/** `target`, with `property` answered as `value`. */
const withProperty = <T extends object>(target: T, property: string, value: unknown): T =>
  new Proxy(target, { get: (object, key, receiver) => (key === property ? value : Reflect.get(object, key, receiver)) });

/**
 * A server keeping the outputs of the commits it showed answers each read as one that keeps nothing
 * would, whatever changed in between: each kind of change below leaves a kept text stale if the
 * version misses it.
 */
describe.each([...engineNames, ...(process.env.TEST_DATABASE_URL ? [NEON_HTTP] : [])])('kept outputs on %s', (engine) => {
  let database: TestDatabase;
  let keeping: TestApp;
  let plain: TestApp;
  const hook: { between?: () => Promise<unknown> } = {};
  const commitPath = `/api/v1/commit/${shaOf(1)}?project=group%2Frepo`;
  const read = async (app: TestApp, path = commitPath) => {
    const response = await app.request(path);
    expect(response.status, path).toBe(200);
    return response.text();
  };
  const upload = async (spec: UploadSpec) => expect((await postJson(keeping, '/api/v1/output/', outputUpload(spec))).status).toBe(200);
  /** Reads through the keeping server (filling what it keeps), runs `change`, then expects both servers to agree. */
  const afterChange = async (change: () => Promise<unknown>) => {
    const before = await read(keeping);
    await change();
    const after = await read(keeping);
    expect(after).toBe(await read(plain));
    expect(after).not.toBe(before);
    return JSON.parse(after) as any;
  };

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    keeping = testApp(engine === NEON_HTTP ? pausingBeforeRereads(database.db, hook) : pausingAfterVersions(database.db, hook));
    plain = testApp(database.db, { KEPT_OUTPUTS_MB: '0' });
  });
  beforeEach(async () => {
    await emptyTables(database.db);
    for (const input of ['in/1.jpg', 'in/2.jpg']) await upload({ sha: shaOf(1), input, metrics: { psnr: 30 } });
    await upload({ sha: shaOf(1), batch: 'tuning', metrics: { psnr: 31 } });
  });
  afterEach(() => vi.restoreAllMocks());
  // A deletion queues its files' removal: done before the database closes, not retried for a minute after.
  afterAll(async () => {
    await Promise.all([keeping, plain].map((app) => app?.fileDeletions.idle()));
    await database?.close();
  });

  test('a read answers as a server keeping nothing, the first time and after', async () => {
    const first = await read(keeping);
    expect(first).toBe(await read(plain));
    expect(await read(keeping)).toBe(first);
    expect(Object.keys(JSON.parse(first).batches.default.outputs)).toHaveLength(2);
    // A batch filter and a metrics list change the summaries, not the outputs kept.
    const filtered = `${commitPath}&batch=tuning&metrics=${encodeURIComponent('{"psnr": 0}')}`;
    expect(await read(keeping, filtered)).toBe(await read(plain, filtered));
  });

  test('an upload changing an output', async () => {
    const commit = await afterChange(() => upload({ sha: shaOf(1), input: 'in/1.jpg', metrics: { psnr: 40 } }));
    expect(Object.values(commit.batches.default.outputs).map((o: any) => o.metrics.psnr).sort()).toEqual([30, 40]);
  });

  test('an upload adding an output', async () => {
    const commit = await afterChange(() => upload({ sha: shaOf(1), input: 'in/3.jpg' }));
    expect(Object.keys(commit.batches.default.outputs)).toHaveLength(3);
  });

  test("another commit's upload changing the metadata of a test input the outputs show", async () => {
    const commit = await afterChange(() => upload({ sha: shaOf(2), input: 'in/1.jpg', extra: { input_metadata: { iso: 1600 } } }));
    const shown = Object.values(commit.batches.default.outputs).find((o: any) => o.test_input_path === 'in/1.jpg') as any;
    expect(shown.test_input_metadata).toEqual({ iso: 1600 });
  });

  test('a web write deleting an output', async () => {
    const [output] = await queryRows<{ id: number }>(database.db, sql`SELECT id FROM outputs ORDER BY id LIMIT 1`);
    const commit = await afterChange(async () => expect((await keeping.request(`/api/v1/output/${output!.id}/?soft=true`, { method: 'DELETE' })).status).toBe(200));
    expect(commit.batches.default.outputs[output!.id].deleted).toBe(true);
  });

  test("the project's storage moving to R2: the outputs' URLs change", async () => {
    const commit = await afterChange(() =>
      database.db.execute(sql`UPDATE projects SET data = jsonb_set(data, '{qatools_config}', COALESCE(data -> 'qatools_config', '{}') || '{"storage": {"mode": "r2"}}')`),
    );
    for (const output of Object.values(commit.batches.default.outputs) as any[]) expect(output.output_dir_url).toMatch(/^\/s\/group\/repo\//);
  });

  test('an output written while a read runs, then deleted: what is kept matches its version', async () => {
    hook.between = () => upload({ sha: shaOf(1), input: 'in/3.jpg' });
    expect(await read(keeping)).toBe(await read(plain));
    const [added] = await queryRows<{ id: number }>(database.db, sql`SELECT o.id FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id WHERE t.path = 'in/3.jpg'`);
    // A hard delete: the batch's count and sum of updated_at are back to what the read saw first.
    expect((await plain.request(`/api/v1/output/${added!.id}`, { method: 'DELETE' })).status).toBe(200);
    expect(await read(keeping)).toBe(await read(plain));
  });

  // PGlite's now() has whole milliseconds, read from Date.now(): frozen, every write shares it.
  test.skipIf(engine !== 'pglite')("two changes of a test input's metadata in one millisecond", async () => {
    vi.spyOn(Date, 'now').mockReturnValue(Date.now());
    await upload({ sha: shaOf(2), input: 'in/1.jpg', extra: { input_metadata: { iso: 100 } } });
    const commit = await afterChange(() => upload({ sha: shaOf(2), input: 'in/1.jpg', extra: { input_metadata: { iso: 1600 } } }));
    expect(JSON.stringify(commit)).toContain('"iso":1600');
  });

  test.skipIf(engine !== 'pglite')('two web edits of an output in one millisecond', async () => {
    const [output] = await queryRows<{ id: number }>(database.db, sql`SELECT id FROM outputs ORDER BY id LIMIT 1`);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now());
    const edit = async (psnr: number) => {
      const response = await plain.request(`/api/v1/output/${output!.id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metrics: { psnr } }) });
      expect(response.status).toBe(200);
    };
    await edit(40);
    const commit = await afterChange(() => edit(50));
    expect(commit.batches.default.outputs[output!.id].metrics.psnr).toBe(50);
  });
});
