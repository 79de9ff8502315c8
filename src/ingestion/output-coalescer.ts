/**
 * Group commit for a process that serves many concurrent uploads (the Node entry, and a Worker
 * isolate, which serves concurrent requests too): uploads that arrive while a write is in flight
 * wait for it, then go together — one statement per commit, in one transaction when there are
 * several (see domain/ingest/ingest-outputs.ts). A lone upload is written at once, so nothing waits
 * when there is nothing to group; under load, groups grow by themselves. Each caller gets its own
 * answer, or its own error.
 *
 * One write at a time: two in flight halve the groups, and the statement's cost is mostly per
 * statement — `npm run bench`, A/B: 1,547–1,685 uploads/s with one, 1,285–1,404 with two (Postgres
 * CPU per upload 0.27 ms against 0.43). But a write can stall (a lock held by another transaction,
 * a slow disk): when every write in flight started `stallMs` ago or more, waiting uploads go in
 * another one, up to `maxInFlight`, rather than all waiting on the stuck one.
 *
 * A group is written by the caller of its first upload, on that caller's database handle and in
 * its own continuation: a Worker may only do I/O for the request it serves, and that request is
 * alive until its own upload is answered. The others are answered from there.
 */
import type { Db } from '../db/client';
import { outputAsWritten, type ReceivedUpload } from '../domain/ingest/ingest-outputs';
import type { StorageMode } from '../domain/storage-locations';
import type { OutputJson } from '../domain/v1-json';
import { writeOutputs, type OutputWriteResult } from './write-outputs';

type Written = Extract<OutputWriteResult<OutputJson>, { written: unknown }>;
export type OutputWriter = (upload: ReceivedUpload) => Promise<Written>;
/** An `OutputWriter` shared by callers with handles of their own: each passes the one its write may use. */
export type SharedOutputWriter = (db: Db, upload: ReceivedUpload) => Promise<Written>;

/** What a waiting upload is told: its answer or error, or that its caller writes the next group. */
type Turn = OutputWriteResult<OutputJson> | { lead: true };

interface Waiting {
  db: Db;
  upload: ReceivedUpload;
  hear(turn: Turn): void;
}

/** `defaultStorage`: the server's storage mode, for the URLs answered (FILES_STORAGE). */
export function outputCoalescer(defaultStorage: StorageMode, { maxInFlight = 4, maxGroup = 200, stallMs = 50 } = {}): SharedOutputWriter {
  const answer = outputAsWritten(defaultStorage);
  const waiting: Waiting[] = [];
  let inFlight = 0;
  let lastStartedAt = 0;
  let stallTimer: ReturnType<typeof setTimeout> | undefined;

  function startNext() {
    if (!waiting.length || inFlight >= maxInFlight) return;
    const sinceLastStart = performance.now() - lastStartedAt;
    if (inFlight === 0 || sinceLastStart >= stallMs) {
      inFlight += 1;
      lastStartedAt = performance.now();
      waiting.shift()!.hear({ lead: true });
    } else {
      stallTimer ??= setTimeout(() => ((stallTimer = undefined), startNext()), stallMs - sinceLastStart);
    }
  }

  /** Writes the lead's upload with those waiting behind it; the lead's own result is returned, the others told. */
  async function writeGroup(lead: Waiting): Promise<Written> {
    const group = [lead, ...waiting.splice(0, maxGroup - 1)];
    let results: OutputWriteResult<OutputJson>[];
    try {
      results = await writeOutputs(lead.db, group.map((w) => w.upload), answer);
    } catch (error) {
      results = group.map(() => ({ error })); // the database is unavailable: every caller spools
    } finally {
      inFlight -= 1;
      // A timer armed in a request that has ended may never fire (Workers): arm afresh.
      clearTimeout(stallTimer);
      stallTimer = undefined;
      startNext();
    }
    results.slice(1).forEach((result, i) => group[i + 1]!.hear(result));
    const [own] = results;
    if ('error' in own!) throw own.error;
    return own!;
  }

  return async (db, upload) => {
    let self!: Waiting;
    const turn = await new Promise<Turn>((hear) => {
      self = { db, upload, hear };
      waiting.push(self);
      startNext();
    });
    if ('lead' in turn) return writeGroup(self);
    if ('error' in turn) throw turn.error;
    return turn;
  };
}
