/**
 * The pieces that keep acknowledged uploads: the file spool (durable, ordered, crash-tolerant),
 * receipts, the circuit breaker — and writing spooled messages: once, in any order, any number of
 * times.
 */
import { appendFile, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { outputUpload as outputUploadSchema } from '../src/domain/ingest/envelope';
import { CircuitBreaker } from '../src/ingestion/circuit-breaker';
import { fileSpool } from '../src/ingestion/file-spool';
import { newReceiptId, receiptClock, receiptIssuedAt } from '../src/ingestion/receipts';
import { queueSpool, SET_ASIDE_PREFIX, writeQueued, type QueuedUpload } from '../src/ingestion/spool';
import { startSpoolDrain } from '../src/ingestion/spool-drain';
import { outputChunks, writeSpooled, writeSteps, type SpooledUpload } from '../src/ingestion/spooled-uploads';
import { quietLogger } from '../src/lib/logger';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { emptyTables, engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { abortAsDeadlockVictims } from './support/injected-conflicts';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

const commit = (n: number): SpooledUpload => ({
  kind: 'commit',
  receipt: newReceiptId(),
  receivedAt: new Date().toISOString(),
  upload: { project: 'spool/repo', batch_label: 'default', data: { n } },
  hexsha: shaOf(n),
});

describe('the file spool', () => {
  const folder = () => mkdtemp(path.join(tmpdir(), 'spool-test-'));

  test('keeps messages in order across reopening, and moves past a batch only once it is done', async () => {
    const dir = await folder();
    const spool = fileSpool(dir);
    await Promise.all([spool.append([commit(1), commit(2)]), spool.append([commit(3)])]);
    expect(await spool.depth()).toBe(3);
    const first = await spool.take(2);
    expect(first.messages.map((m) => (m as { hexsha: string }).hexsha)).toEqual([shaOf(1), shaOf(2)]);
    // Not done: a new reader (a restart) reads the same messages again.
    const reopened = fileSpool(dir);
    expect((await reopened.take(10)).messages).toHaveLength(3);
    await first.done();
    const afterDone = fileSpool(dir);
    expect(await afterDone.depth()).toBe(1);
    const rest = await afterDone.take(10);
    expect(rest.messages.map((m) => (m as { hexsha: string }).hexsha)).toEqual([shaOf(3)]);
    await rest.done();
    expect((await afterDone.take(10)).messages).toEqual([]);
  });

  test('a torn last line (a crash mid-append, never acknowledged) is cut off when the spool opens', async () => {
    const dir = await folder();
    await fileSpool(dir).append([commit(1)]);
    const [segment] = (await readdir(dir)).filter((name) => name.startsWith('segment-'));
    await appendFile(path.join(dir, segment!), '{"kind":"commit","rece');
    const reopened = fileSpool(dir);
    expect(await reopened.depth()).toBe(1);
    await reopened.append([commit(2)]);
    const batch = await reopened.take(10);
    expect(batch.messages.map((m) => (m as { hexsha: string }).hexsha)).toEqual([shaOf(1), shaOf(2)]);
    expect((await readFile(path.join(dir, segment!), 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
  });

  test('many appends at once share writes and lose nothing', async () => {
    const spool = fileSpool(await folder());
    await Promise.all(Array.from({ length: 200 }, (_, i) => spool.append([commit(i)])));
    const batch = await spool.take(1_000);
    expect(new Set(batch.messages.map((m) => (m as { hexsha: string }).hexsha)).size).toBe(200);
  });
});

describe('the queue spool (a Cloudflare Queue, with R2 for larger messages)', () => {
  const sized = (bytes: number): SpooledUpload => {
    const message = commit(bytes) as Extract<SpooledUpload, { kind: 'commit' }>;
    const padding = bytes - new TextEncoder().encode(JSON.stringify(message)).length;
    return { ...message, upload: { ...message.upload, data: { n: bytes, pad: 'x'.repeat(padding - '"pad":"",'.length) } } } as SpooledUpload;
  };
  /** What a queue was sent, batch by batch, and the order of puts and sends. */
  function recordingQueue(events: string[], refuseBatch?: number) {
    const batches: MessageSendRequest<QueuedUpload>[][] = [];
    const queue = {
      async sendBatch(batch: MessageSendRequest<QueuedUpload>[]) {
        if (batches.length === refuseBatch) throw new Error('the queue refused the batch');
        batches.push([...batch]);
        events.push(`send ${batch.map((m) => m.body.kind).join(',')}`);
      },
    } as unknown as Queue<QueuedUpload>;
    return { queue, batches };
  }
  async function recordingStore(events: string[]) {
    const store = folderObjectStore(await mkdtemp(path.join(tmpdir(), 'set-aside-')));
    const put = store.put.bind(store);
    return Object.assign(store, { put: async (key: string, body: Uint8Array) => void (await put(key, body), events.push(`put ${key}`)) });
  }

  test('a message over 120 KB is set aside before its pointer is sent; batches keep to 100 messages and 250 KB, sent as JSON', async () => {
    const events: string[] = [];
    const { queue, batches } = recordingQueue(events);
    const store = await recordingStore(events);
    const messages = [sized(119_000), sized(121_000), ...Array.from({ length: 150 }, () => sized(500))];
    await queueSpool(queue, store).append(messages);
    const key = `${SET_ASIDE_PREFIX}${messages[1]!.receipt}/0.json`;
    expect(await store.list(SET_ASIDE_PREFIX)).toEqual([key]);
    expect(JSON.parse(new TextDecoder().decode(await store.get(key)))).toEqual(messages[1]);
    expect(events.indexOf(`put ${key}`)).toBeLessThan(events.findIndex((e) => e.includes('set-aside')));
    const sent = batches.flat();
    expect(sent.map((m) => m.body)).toEqual([messages[0], { kind: 'set-aside', key, receipt: messages[1]!.receipt, chunk: 0 }, ...messages.slice(2)]);
    expect(sent.every((m) => m.contentType === 'json')).toBe(true);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(100);
      expect(batch.reduce((n, m) => n + new TextEncoder().encode(JSON.stringify(m.body)).length, 0)).toBeLessThanOrEqual(250_000);
    }
  });

  test('when the queue refuses, the append fails (the client retries) and what was set aside for unsent pointers is deleted', async () => {
    const events: string[] = [];
    const { queue } = recordingQueue(events, 1);
    const store = await recordingStore(events);
    // First batch: a pointer and two messages of 119 KB (the third doesn't fit); the second, refused: 119 KB and a pointer.
    const messages = [sized(200_000), sized(119_000), sized(119_000), sized(119_000), sized(200_000)];
    await expect(queueSpool(queue, store).append(messages)).rejects.toThrow(/refused/);
    expect(events.filter((e) => e.startsWith('put'))).toHaveLength(2);
    // The first pointer went out with the first batch (its consumer will read it); the second's batch never did.
    expect(await store.list(SET_ASIDE_PREFIX)).toEqual([`${SET_ASIDE_PREFIX}${messages[0]!.receipt}/0.json`]);
  });
});

describe('receipts and the circuit', () => {
  test('receipt times are strictly increasing, even within one millisecond', () => {
    const clock = receiptClock(() => 1_700_000_000_000);
    const times = Array.from({ length: 5 }, clock);
    expect([...times].sort()).toEqual(times);
    expect(new Set(times).size).toBe(5);
    expect(times[0]).toBe('2023-11-14T22:13:20.000000Z');
  });

  test('receipt ids are UUIDv7 carrying the time they were issued', () => {
    const id = newReceiptId(1_700_000_000_123);
    expect(receiptIssuedAt(id)).toBe(1_700_000_000_123);
    expect(receiptIssuedAt('not-a-receipt')).toBeUndefined();
  });

  test('the circuit opens after failures in a row, lets one trial through after the pause, closes on success', () => {
    let now = 0;
    const circuit = new CircuitBreaker({ failureThreshold: 2, openMs: 1_000, now: () => now });
    circuit.recordFailure();
    expect(circuit.allows()).toBe(true);
    circuit.recordFailure();
    expect([circuit.state, circuit.allows(), circuit.retryAfterSeconds()]).toEqual(['open', false, 1]);
    now = 1_000;
    expect([circuit.allows(), circuit.allows()]).toEqual([true, false]);
    circuit.recordFailure();
    expect(circuit.state).toBe('open');
    now = 2_000;
    expect(circuit.allows()).toBe(true);
    circuit.recordSuccess();
    expect([circuit.state, circuit.allows()]).toEqual(['closed', true]);
  });
});

describe('the order spooled messages are written in', () => {
  const chunk = (sha: number, inputs: string[], database = '/db'): SpooledUpload => ({
    kind: 'outputs', receipt: newReceiptId(), chunk: 0, total: inputs.length, first: 0,
    envelope: { project: 'p', commit_sha: shaOf(sha) },
    items: inputs.map((input) => ({ run: { database, rel_input_path: input }, receivedAt: new Date().toISOString() })),
  });

  test('outputs chunks in a row share a step while they patch no commit and no test input in common', () => {
    const [c1, c2, c3, c4, c5] = [chunk(1, ['a', 'b']), chunk(2, ['c']), chunk(3, ['d', 'a']), chunk(4, ['e'], '/other'), chunk(4, ['f'])];
    // c3 shares input a with c1; c5 shares commit 4 with c4.
    expect(writeSteps([c1!, c2!, c3!, c4!, c5!])).toEqual([[c1, c2], [c3, c4], [c5]]);
    // The same path in another database is another test input.
    const [d1, d2] = [chunk(1, ['a']), chunk(2, ['a'], '/other')];
    expect(writeSteps([d1!, d2!])).toEqual([[d1, d2]]);
  });

  test('a batch or commit upload is a step of its own, between what came before and after it', () => {
    const batch: SpooledUpload = { kind: 'batch', receipt: 'b', receivedAt: new Date().toISOString(), upload: { project: 'p', batch_label: 'default' } as never };
    const [c1, c2, c3] = [chunk(1, ['a']), chunk(2, ['b']), chunk(3, ['c'])];
    const commit5 = commit(5);
    expect(writeSteps([c1!, c2!, batch, c3!, commit5, commit5])).toEqual([[c1, c2], [batch], [c3], [commit5], [commit5]]);
    expect(writeSteps([])).toEqual([]);
  });
});

/** A drain timer that never fires within a test: the test's kicks are its only passes. */
const ONLY_KICKED = 3_600_000;

describe.each(engineNames)('writing spooled uploads on %s', (engine) => {
  let database: TestDatabase;
  const clock = receiptClock();
  const received = (spec: UploadSpec, extra: Record<string, unknown> = {}) => ({
    upload: outputUploadSchema.parse({ ...outputUpload({ project: 'spool/repo', ...spec }), ...extra }),
    receivedAt: clock(),
  });
  const noHooks = { written: async () => {}, completeBatches: async () => {} };
  const outputsNow = () =>
    queryRows<{ path: string; is_pending: boolean; metrics: Record<string, unknown> }>(
      database.db,
      sql`SELECT t.path, o.is_pending, o.metrics FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id ORDER BY t.path`,
    );

  beforeAll(async () => {
    database = await openTestDatabase(engine);
  });
  beforeEach(() => emptyTables(database.db));
  afterAll(() => database?.close());

  test('a chunk whose uploads create their commit reports the commit once, not once per upload', async () => {
    const reported: string[] = [];
    const hooks = { ...noHooks, written: async (_upload: unknown, hexsha: string) => void reported.push(hexsha) };
    const { chunks } = outputChunks(newReceiptId(), ['a', 'b', 'c'].map((input) => received({ sha: shaOf(9), input, authored: '2026-11-01T10:00:00Z' })));
    expect(chunks).toHaveLength(1);
    await writeSpooled(database.db, chunks[0]!, hooks);
    expect(reported).toEqual([shaOf(9)]);
  });

  test('in any order and twice: each output ends in the state of the upload received last', async () => {
    const start = received({ input: 'a', status: 'running' });
    const end = received({ input: 'a', metrics: { psnr: 30 } });
    const other = received({ input: 'b', metrics: { psnr: 20 } });
    const receipt = newReceiptId();
    const { chunks } = outputChunks(receipt, [start, end, other]);
    const late = outputChunks(newReceiptId(), [start]).chunks;
    // The end arrives first; the start, received before it, arrives after it — twice.
    for (const message of [...chunks, ...late, ...late, ...chunks]) await writeSpooled(database.db, message, noHooks);
    expect(await outputsNow()).toEqual([
      { path: 'a', is_pending: false, metrics: { psnr: 30, is_failed: false } },
      { path: 'b', is_pending: false, metrics: { psnr: 20, is_failed: false } },
    ]);
    const [chunkRows] = await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM ingestion_chunks WHERE ingestion_id = ${receipt}`);
    expect(chunkRows!.n).toBe(chunks.length);
  });

  test('an upload the database refuses is recorded as failed; the rest of its chunk is written', async () => {
    const authored = new Date().toISOString();
    const good = received({ input: 'ok', authored });
    // A NUL can't be stored (the contract refuses it; here it got into the spool anyway): the database refuses it.
    const refused = received({ input: 'bad', authored });
    (refused.upload as Record<string, unknown>).platform = 'x\u0000y';
    const receipt = newReceiptId();
    const { chunks } = outputChunks(receipt, [good, refused]);
    for (const message of chunks) await writeSpooled(database.db, message, noHooks);
    expect((await outputsNow()).map((o) => o.path)).toEqual(['ok']);
    const rows = await queryRows<{ errors: { item: number; error: string }[] }>(
      database.db,
      sql`SELECT errors FROM ingestion_chunks WHERE ingestion_id = ${receipt}`,
    );
    expect(rows.flatMap((r) => r.errors)).toEqual([{ item: 1, error: expect.stringContaining('Unicode') }]);
  });

  test('uploads Postgres aborts as deadlock victims are written when tried again, never recorded as refused', async () => {
    const receipt = newReceiptId();
    const { chunks } = outputChunks(receipt, [received({ input: 'a' }), received({ input: 'b' })]);
    // Two aborts: the chunk's write, then its first retry (before, the second was recorded as refusing upload a).
    const stop = await abortAsDeadlockVictims(database.db, 'outputs', 2);
    try {
      for (const message of chunks) await writeSpooled(database.db, message, noHooks);
    } finally {
      await stop();
    }
    expect((await outputsNow()).map((o) => o.path)).toEqual(['a', 'b']);
    const rows = await queryRows<{ errors: unknown[] }>(database.db, sql`SELECT errors FROM ingestion_chunks WHERE ingestion_id = ${receipt}`);
    expect(rows.flatMap((r) => r.errors)).toEqual([]);
  });

  test('the Node spool drain takes a message aborted as a deadlock victim again at once: written, not refused, not dead-lettered', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'spool-drain-'));
    const spool = fileSpool(folder);
    const drain = startSpoolDrain(spool, { db: database.db, hooks: noHooks, breaker: new CircuitBreaker(), logger: quietLogger, folder, intervalMs: ONLY_KICKED });
    const message = commit(3);
    await spool.append([message]);
    // More aborts than the drain's attempts before dead-lettering: conflicts are not attempts.
    const stop = await abortAsDeadlockVictims(database.db, 'ci_commits', 4);
    try {
      drain.kick();
      await drain.idle();
    } finally {
      drain.stop();
      await stop();
    }
    const commits = await queryRows<{ hexsha: string }>(database.db, sql`SELECT hexsha FROM ci_commits`);
    expect(commits.map((c) => c.hexsha)).toEqual([shaOf(3)]);
    const rows = await queryRows<{ errors: unknown[] }>(database.db, sql`SELECT errors FROM ingestion_chunks WHERE ingestion_id = ${message.receipt}`);
    expect(rows.map((r) => r.errors)).toEqual([[]]);
    expect(await spool.depth()).toBe(0);
    await expect(readFile(path.join(folder, 'dead-letters.ndjson'))).rejects.toThrow(/ENOENT/);
  });

  test('the Node spool drain writes a qa optimize batch upload after the outputs spooled before it, though it writes outputs chunks two at a time', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'spool-drain-'));
    const spool = fileSpool(folder);
    const drain = startSpoolDrain(spool, { db: database.db, hooks: noHooks, breaker: new CircuitBreaker(), logger: quietLogger, folder, intervalMs: ONLY_KICKED });
    const iteration = (n: number, inputs: number) =>
      outputChunks(newReceiptId(), Array.from({ length: inputs }, (_, i) => received({ batch: `tune|iter${n}`, input: `i${i}`, metrics: { loss: n } }))).chunks;
    const best: SpooledUpload = {
      kind: 'batch',
      receipt: newReceiptId(),
      receivedAt: clock(),
      upload: { ...received({ batch: 'tune' }).upload, data: { optimization: true, iteration: 2, iteration_label: 'tune|iter2', is_best_iter: true } },
    };
    // The first writer is done with iteration 1 long before the second is with iteration 2's 100 outputs.
    await spool.append([...iteration(1, 1), ...iteration(2, 100), best]);
    drain.kick();
    await drain.idle();
    drain.stop();
    const batches = await queryRows<{ label: string; outputs: number; loss: number[] }>(
      database.db,
      sql`SELECT b.label, count(o.id)::int AS outputs, array_agg(DISTINCT (o.metrics ->> 'loss')::int) AS loss
          FROM batches b JOIN outputs o ON o.batch_id = b.id GROUP BY b.label`,
    );
    expect(batches).toEqual([{ label: 'tune', outputs: 100, loss: [2] }]);
  });

  test('the Node spool drain writes outputs chunks that share a test input in spool order: the metadata received last wins', async () => {
    for (let round = 0; round < 3; round++) {
      await emptyTables(database.db);
      const folder = await mkdtemp(path.join(tmpdir(), 'spool-drain-'));
      const spool = fileSpool(folder);
      const drain = startSpoolDrain(spool, { db: database.db, hooks: noHooks, breaker: new CircuitBreaker(), logger: quietLogger, folder, intervalMs: ONLY_KICKED });
      // Two commits: only the test input they share orders them.
      const withMetadata = (input: string, version: number) => received({ sha: shaOf(version), input, authored: '2026-11-01T10:00:00Z' }, { input_metadata: { version } });
      // The older chunk takes long to write; written at once with the newer, it committed last (8 rounds in 10 on pg).
      const older = outputChunks(newReceiptId(), [withMetadata('shared', 1), ...Array.from({ length: 1000 }, (_, i) => withMetadata(`x${i}`, 1))]).chunks;
      const newer = outputChunks(newReceiptId(), [withMetadata('shared', 2)]).chunks;
      await spool.append([...older, ...newer]);
      drain.kick();
      await drain.idle();
      drain.stop();
      const [input] = await queryRows<{ data: { metadata: { version: number } } }>(database.db, sql`SELECT data FROM test_inputs WHERE path = 'shared'`);
      expect(input!.data.metadata.version).toBe(2);
    }
  });

  test('the Node spool drain retries a conflict that never clears a few times, then counts it as attempts: set aside, never spinning', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'spool-drain-'));
    const spool = fileSpool(folder);
    const drain = startSpoolDrain(spool, { db: database.db, hooks: noHooks, breaker: new CircuitBreaker(), logger: quietLogger, folder, intervalMs: ONLY_KICKED });
    const stuck = commit(6);
    await spool.append([stuck, commit(7)]);
    const stop = await abortAsDeadlockVictims(database.db, 'ci_commits', 1_000_000);
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        drain.kick();
        await drain.idle(); // returns: the drain doesn't take the batch again forever
      }
      const aborts = await queryRows<{ n: number }>(database.db, sql`SELECT last_value::int AS n FROM injected_conflicts`);
      // 3 attempts of 5 conflicts each for the stuck message, then one of commit 7's; the set-aside
      // message is not tried again when commit 7's conflicts make the drain take their batch again.
      expect(aborts[0]!.n).toBe(20);
    } finally {
      drain.stop();
      await stop();
    }
    const deadLetters = (await readFile(path.join(folder, 'dead-letters.ndjson'), 'utf8')).split('\n').filter(Boolean);
    expect(deadLetters.map((line) => (JSON.parse(line) as { message: SpooledUpload }).message)).toEqual([stuck]);
    expect(await spool.depth()).toBe(2); // the batch waits for commit 7, whose write was aborted too
  });

  test('chunks stay under the message size a queue carries, each carrying its envelope once', () => {
    const uploads = Array.from({ length: 300 }, (_, i) => received({ input: `i${i}` }));
    const queueSized = { chunkBytes: 120_000, maxMessageBytes: 120_000 };
    const { chunks, tooLarge } = outputChunks(newReceiptId(), uploads, queueSized);
    expect(tooLarge).toEqual([]);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(new TextEncoder().encode(JSON.stringify(chunk)).length).toBeLessThanOrEqual(120_000);
    expect(chunks.reduce((n, c) => n + (c.kind === 'outputs' ? c.items.length : 0), 0)).toBe(300);
    const huge = received({ input: 'huge' }, { data: { blob: 'x'.repeat(130_000) } });
    expect(outputChunks(newReceiptId(), [huge], queueSized).tooLarge).toEqual([0]);
    // A spool that sets large messages aside takes it, in a chunk of its own between the others.
    const setAside = outputChunks(newReceiptId(), [uploads[0]!, huge, uploads[1]!], { chunkBytes: 120_000, maxMessageBytes: 1_000_000 });
    expect(setAside.tooLarge).toEqual([]);
    expect(setAside.chunks.map((c) => (c.kind === 'outputs' ? c.items.length : 0))).toEqual([1, 1, 1]);
  });

  test('a message set aside in object storage is written from there once, then deleted; a redelivery changes nothing', async () => {
    const store = folderObjectStore(await mkdtemp(path.join(tmpdir(), 'set-aside-')));
    const receipt = newReceiptId();
    const [chunk] = outputChunks(receipt, [received({ input: 'large', metrics: { psnr: 40 } })]).chunks;
    const pointer: QueuedUpload = { kind: 'set-aside', key: `${SET_ASIDE_PREFIX}${receipt}/0.json`, receipt, chunk: 0 };
    await store.put(pointer.key, new TextEncoder().encode(JSON.stringify(chunk)));
    await writeQueued(database.db, pointer, store, noHooks);
    expect(await outputsNow()).toEqual([{ path: 'large', is_pending: false, metrics: { psnr: 40, is_failed: false } }]);
    expect(await store.get(pointer.key)).toBeUndefined();
    await writeQueued(database.db, pointer, store, noHooks);
    expect(await outputsNow()).toHaveLength(1);
    // A pointer whose object is gone and whose chunk was never written is an error (retried, then dead-lettered), not a silent loss.
    const lost: QueuedUpload = { ...pointer, key: `${SET_ASIDE_PREFIX}${newReceiptId()}/0.json`, receipt: newReceiptId() };
    await expect(writeQueued(database.db, lost, store, noHooks)).rejects.toThrow(/missing/);
  });

  test('the Node spool drain sets a message that keeps failing for another reason than the database aside after 3 attempts, and writes the next ones', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'spool-drain-'));
    const spool = fileSpool(folder);
    const drain = startSpoolDrain(spool, { db: database.db, hooks: noHooks, breaker: new CircuitBreaker(), logger: quietLogger, folder, intervalMs: ONLY_KICKED });
    const [chunk] = outputChunks(newReceiptId(), [received({ input: 'a' })]).chunks;
    const corrupt = { ...chunk!, chunk: 2 ** 40 } as SpooledUpload; // no chunk number Postgres can store
    await spool.append([corrupt, commit(2)]);
    for (let attempt = 0; attempt < 3; attempt++) {
      drain.kick();
      await drain.idle();
    }
    drain.stop();
    const commits = await queryRows<{ hexsha: string }>(database.db, sql`SELECT hexsha FROM ci_commits`);
    expect(commits.map((c) => c.hexsha)).toEqual([shaOf(2)]);
    expect(await spool.depth()).toBe(0);
    const deadLetters = (await readFile(path.join(folder, 'dead-letters.ndjson'), 'utf8')).split('\n').filter(Boolean);
    expect(deadLetters.map((line) => (JSON.parse(line) as { message: SpooledUpload }).message)).toEqual([corrupt]);
  });
});
