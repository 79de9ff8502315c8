import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { queryRows, type Db } from '../src/db/client';
import * as schema from '../src/db/schema';
import type { OutputUpload } from '../src/domain/ingest/envelope';
import { CircuitBreaker } from '../src/ingestion/circuit-breaker';
import { Ingestion } from '../src/ingestion/ingestion';
import { outputCoalescer, type OutputWriter } from '../src/ingestion/output-coalescer';
import { receiptClock } from '../src/ingestion/receipts';
import { emptyTables, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf } from './support/uploads';

/**
 * Every rule holds whichever way waiting callers hear (`direct`: the Node entry; `polled`: a Worker
 * isolate). Holding a lock needs a second connection: the Postgres engine only (PGlite has one).
 */
describe.skipIf(!process.env.TEST_DATABASE_URL).each(['direct', 'polled'] as const)('group commit, %s hand-off', (handOff) => {
  let database: TestDatabase;
  /** The scratch database's address, for handles of the test's own. */
  let databaseUrl: string;
  const receivedAt = receiptClock();
  const received = (spec: Parameters<typeof outputUpload>[0]) => ({ upload: outputUpload(spec) as unknown as OutputUpload, receivedAt: receivedAt() });

  beforeAll(async () => {
    database = await openTestDatabase('pg', { urlFor: (url) => (databaseUrl = url) });
  });
  beforeEach(() => emptyTables(database.db));
  afterAll(() => database?.close());
  const coalescer = (options: Parameters<typeof outputCoalescer>[1]): OutputWriter => {
    const write = outputCoalescer('shared-disk', { ...options, handOff });
    return (upload) => write(database.db, upload);
  };

  /**
   * Writes `upload` once, then holds its output's row lock in a transaction of its own until
   * `release` is called: the next write of that output waits for it.
   */
  async function lockedOutput(write: OutputWriter, spec: Parameters<typeof outputUpload>[0]) {
    await write(received(spec));
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const held = database.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT id FROM outputs FOR UPDATE`);
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await isLocked;
    return { release: async () => (release(), await held) };
  }

  const settled = <T>(promise: Promise<T>) => {
    const state = { done: false };
    void promise.then(() => (state.done = true));
    return state;
  };

  test('uploads arriving while a write is in flight wait for it, then are written together by one statement', async () => {
    const write = coalescer({ stallMs: 60_000 });
    const lock = await lockedOutput(write, { project: 'group/first' });
    const first = write(received({ project: 'group/first', metrics: { psnr: 2 } }));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the first write is blocked on the lock
    const later = Array.from({ length: 5 }, (_, i) => write(received({ project: 'group/later', sha: shaOf(2), input: `inputs/${i}.jpg` })));
    const laterState = settled(Promise.all(later));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const laterWaited = !laterState.done;
    await lock.release();
    expect(laterWaited).toBe(true);
    await Promise.all([first, ...later]);
    const rows = await queryRows<{ transactions: number; outputs: number }>(database.db, sql`
      SELECT count(DISTINCT o.xmin::text)::int AS transactions, count(*)::int AS outputs
      FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id
      WHERE c.hexsha = ${shaOf(2)}`);
    expect(rows[0]).toEqual({ transactions: 1, outputs: 5 });
  });

  test.runIf(handOff === 'polled')('polled: a caller told its answer by another caller\'s write takes it from its own timer, never from the teller', async () => {
    const write = coalescer({ stallMs: 60_000 });
    const lock = await lockedOutput(write, { project: 'group/first' });
    const first = write(received({ project: 'group/first', metrics: { psnr: 2 } }));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the first write is blocked on the lock
    // Both wait; then the lead writes both, and tells the other one its answer.
    const lead = write(received({ project: 'group/told', sha: shaOf(2), input: 'inputs/lead.jpg' }));
    const told = settled(write(received({ project: 'group/told', sha: shaOf(2), input: 'inputs/told.jpg' })));
    await lock.release();
    await Promise.all([first, lead]);
    // Settled by the teller, its promise would be by now: no timer runs between microtasks.
    for (let turn = 0; turn < 50; turn++) await Promise.resolve();
    const settledByTeller = told.done;
    await expect.poll(() => told.done, { timeout: 1_000, interval: 5 }).toBe(true);
    expect(settledByTeller).toBe(false);
  });

  test.runIf(handOff === 'polled')('polled: a caller whose deadline passed between being told to lead and its poll writes nothing, and passes the turn on', async () => {
    const write = outputCoalescer('shared-disk', { stallMs: 60_000, handOff });
    const lock = await lockedOutput((upload) => write(database.db, upload), { project: 'group/first' });
    const first = write(database.db, received({ project: 'group/first', metrics: { psnr: 2 } }));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the first write is blocked on the lock
    const deadline = new AbortController();
    const late = write(database.db, received({ project: 'group/late', sha: shaOf(2) }), deadline.signal).then(
      () => 'written',
      (error: unknown) => error,
    );
    const next = write(database.db, received({ project: 'group/next', sha: shaOf(3) }));
    await lock.release();
    await first; // `late` is told to lead; only microtasks have run since, not its poll
    deadline.abort('deadline passed');
    expect(await late).toBe('deadline passed');
    expect((await next).written.body).toMatchObject({ test_input_path: 'inputs/a.jpg' });
    const [row] = await queryRows<{ outputs: number }>(database.db, sql`
      SELECT count(*)::int AS outputs FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id
      WHERE c.hexsha = ${shaOf(2)}`);
    expect(row!.outputs).toBe(0);
  });

  /**
   * Three uploads written together, one (D) arriving while they are, then three more (E, F, G) once
   * they are answered — callers coming back with their next run. `gatherMs` as the coalescer's option;
   * D's wait from the three's answer to its own, and how many statements wrote D to G. `gatherMs` is the
   * Node entry's (a Worker's timers may never fire once its request has answered); polled, a lead takes its
   * turn at its next poll, so D, arriving meanwhile, goes with the three.
   */
  async function lopsided(gatherMs: number, { comeBack = true } = {}) {
    const write = coalescer({ stallMs: 60_000, gatherMs });
    const lock = await lockedOutput(write, { project: 'group/first' });
    const first = write(received({ project: 'group/first', metrics: { psnr: 2 } }));
    await new Promise((resolve) => setTimeout(resolve, 100)); // blocked on the lock
    const three = ['a', 'b', 'c'].map((name) => write(received({ project: 'group/three', sha: shaOf(3), input: `inputs/${name}.jpg` })));
    await lock.release();
    await first; // the three's write started before this answer
    const d = write(received({ project: 'group/lopsided', sha: shaOf(4), input: 'inputs/d.jpg' }));
    await Promise.all(three);
    const answeredAt = performance.now();
    const more = comeBack ? ['e', 'f', 'g'].map((name) => write(received({ project: 'group/lopsided', sha: shaOf(4), input: `inputs/${name}.jpg` }))) : [];
    await d;
    const waitedMs = performance.now() - answeredAt;
    await Promise.all(more);
    const [row] = await queryRows<{ statements: number }>(database.db, sql`
      SELECT count(DISTINCT o.xmin::text)::int AS statements
      FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id WHERE c.hexsha = ${shaOf(4)}`);
    return { statements: row!.statements, waitedMs };
  }

  test.runIf(handOff === 'direct')('with gatherMs, fewer uploads waiting than were just written wait for as many more, then go in one statement', async () => {
    const { statements, waitedMs } = await lopsided(5_000);
    expect(statements).toBe(1);
    expect(waitedMs).toBeLessThan(2_500); // started when the group was full, not by the timer
  });

  test('without gatherMs, the upload waiting goes alone, and those coming back in another statement', async () => {
    expect((await lopsided(0)).statements).toBe(2);
  });

  test.runIf(handOff === 'direct')('with gatherMs, an upload whose group does not fill is written when the time is up', async () => {
    const { statements, waitedMs } = await lopsided(300, { comeBack: false });
    expect(statements).toBe(1);
    expect(waitedMs).toBeGreaterThanOrEqual(250);
    expect(waitedMs).toBeLessThan(5_000);
  });

  test('a stalled write does not hold back the uploads that arrive after it: past stallMs they go in another write', async () => {
    const write = coalescer({ stallMs: 100 });
    const lock = await lockedOutput(write, { project: 'group/stalled' });
    const stalled = settled(write(received({ project: 'group/stalled', metrics: { psnr: 2 } })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    const other = write(received({ project: 'group/other', sha: shaOf(2) }));
    const answeredInTime = await Promise.race([other.then(() => true), new Promise((resolve) => setTimeout(resolve, 5_000, false))]);
    const stalledMeanwhile = !stalled.done;
    await lock.release();
    expect(answeredInTime, `answered after ${performance.now() - started} ms`).toBe(true);
    expect((await other).written.body).toMatchObject({ test_input_path: 'inputs/a.jpg' });
    expect(stalledMeanwhile).toBe(true);
    await expect.poll(() => stalled.done).toBe(true);
  });

  test('a write in flight past lostAfterMs no longer holds its place (on Workers its request may be gone, and its write with it)', async () => {
    const write = coalescer({ maxInFlight: 1, stallMs: 50, lostAfterMs: 300 });
    const lock = await lockedOutput(write, { project: 'group/lost' });
    const lost = settled(write(received({ project: 'group/lost', metrics: { psnr: 2 } })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const other = write(received({ project: 'group/other', sha: shaOf(2) }));
    const answeredInTime = await Promise.race([other.then(() => true), new Promise((resolve) => setTimeout(resolve, 5_000, false))]);
    const lostMeanwhile = !lost.done;
    await lock.release();
    expect(answeredInTime).toBe(true);
    expect(lostMeanwhile).toBe(true);
    await expect.poll(() => lost.done).toBe(true);
  });

  /**
   * A request as the Worker serves it (src/worker.ts): a handle of its own (neon-websocket, Hyperdrive: a
   * pool), ended once it has answered and the write it started (`writing`) has settled; its upload taken
   * in by `Ingestion`, which spools it (202) past `deadlineMs`. `answered`: the status; `released`: the
   * handle ended.
   */
  function workerRequest(write: ReturnType<typeof outputCoalescer>, deadlineMs: number, completeBatches: (db: Db) => Promise<void> = async () => {}) {
    const pool = new pg.Pool({ connectionString: databaseUrl });
    const db = drizzle({ client: pool, schema }) as unknown as Db;
    const spooled: unknown[] = [];
    let writing: Promise<unknown> = Promise.resolve();
    const ingestion = new Ingestion({
      db,
      writeOutput: (upload, abandoned) => write(db, upload, abandoned),
      writing: (work) => void (writing = work.catch(() => {})),
      spool: { chunkBytes: Infinity, maxMessageBytes: Infinity, append: async (messages) => void spooled.push(...messages), depth: async () => spooled.length },
      breaker: new CircuitBreaker(),
      receivedAt,
      deadlineMs,
      written: async () => {},
      completeBatches,
    });
    return (spec: Parameters<typeof outputUpload>[0]) => {
      const answered = ingestion.output(outputUpload(spec) as unknown as OutputUpload, spec?.sha ?? shaOf(1)).then((outcome) => outcome.status);
      const released = answered.finally(() => writing).then(() => pool.end());
      return { answered, released };
    };
  }

  test('an upload spooled at its deadline while it waited is withdrawn: its request, answered and its handle ended, never writes a group', async () => {
    const write = outputCoalescer('shared-disk', { maxInFlight: 1, handOff });
    const lock = await lockedOutput((upload) => write(database.db, upload), { project: 'group/stalled' });
    const stalled = workerRequest(write, 10_000)({ project: 'group/stalled', metrics: { psnr: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const spooled = workerRequest(write, 300)({ project: 'group/spooled', sha: shaOf(2) });
    expect(await spooled.answered).toBe(202);
    await spooled.released;
    const behind = workerRequest(write, 10_000)({ project: 'group/behind', sha: shaOf(3) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await lock.release();
    expect([await stalled.answered, await behind.answered]).toEqual([200, 200]);
  });

  test('a write that outlives its answer (deadline passed while being written) keeps its handle until its hooks are done', async () => {
    const write = outputCoalescer('shared-disk', { maxInFlight: 1, handOff });
    const lock = await lockedOutput((upload) => write(database.db, upload), { project: 'group/stalled' });
    const completions: string[] = [];
    const completeBatches = async (db: Db) => {
      await db.execute(sql`SELECT 1`).then(
        () => completions.push('done'),
        (error: unknown) => completions.push(String(error)),
      );
    };
    const late = workerRequest(write, 300, completeBatches)({ project: 'group/stalled', metrics: { psnr: 3 } });
    expect(await late.answered).toBe(202);
    await lock.release();
    await late.released;
    expect(completions).toEqual(['done']);
  });
});
