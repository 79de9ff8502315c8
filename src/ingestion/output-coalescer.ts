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
 * Lopsided groups (`gatherMs`; the Node entry's is `NODE_GATHER_MS`): callers that upload one run
 * after another come back soon after their answer. When a write ends with fewer uploads waiting than
 * it wrote, the next one waits up to `gatherMs` for as many more, instead of writing the few alone: at
 * concurrency 8 groups went 7, 1, 7, 1…, two statements where one would do. With 1 ms: 2,440 uploads/s
 * instead of 2,350, Postgres CPU per upload 0.147 ms instead of 0.156 (A/B × 3). Not on Workers: a
 * timer set by a request that has answered may never fire, and the waiting would last until `stallMs`.
 *
 * A group is written by one of its callers (the one whose turn came: first in line, or the one
 * whose patience ran out on a stalled write), on that caller's database handle and in its own
 * continuation: a Worker may only do I/O for the request it serves, and that request is alive until
 * its own upload is answered. The others are told from there: their turn to write, or their answer.
 *
 * How a waiting caller hears it (`handOff`):
 * - `direct` (the Node entry): the teller settles the caller's promise.
 * - `polled` (Workers): the teller only leaves it in plain data, and the caller's own timer takes it,
 *   every `pollMs`, or a twentieth of its wait so far if longer, up to `stallMs`: it hears within ~5% of
 *   its wait, and a write held up for seconds costs each waiting request ~20 wake-ups a second, not 1,000.
 *   Going on from a promise another request settled, a Worker request's I/O was not always accepted:
 *   under `npm run load -- --target worker` at 100 requests/s, after about 200 s, leads' statements failed
 *   with "Cannot perform I/O on behalf of a different request (I/O type: SpanParent)", in three runs out of
 *   three; polled, in none of three (420–600 s). Polling costs nothing measurable (`npm run bench:worker`:
 *   399 and 419 uploads/s, against 391 settled directly).
 * - A caller told to lead whose deadline passed before its poll took the turn writes nothing (its request
 *   has answered: the upload was spooled) and passes the turn on (`passTurn`).
 */
import type { Db } from '../db/client';
import type { ReceivedUpload } from '../domain/ingest/commit-groups';
import { outputAsWritten } from '../domain/ingest/ingest-outputs';
import type { StorageMode } from '../domain/storage-locations';
import type { OutputJson } from '../domain/v1-json';
import { writeOutputs, type OutputWriteResult } from './write-outputs';

type Written = Extract<OutputWriteResult<OutputJson>, { written: unknown }>;
/**
 * Writes an upload. `abandoned`: the caller stops waiting (its deadline passed: it keeps the upload
 * otherwise); an upload not yet being written is withdrawn, so its caller never writes a group after
 * it has answered — on a Worker, with a connection its request has ended.
 */
export type OutputWriter = (upload: ReceivedUpload, abandoned?: AbortSignal) => Promise<Written>;
/** An `OutputWriter` shared by callers with handles of their own: each passes the one its write may use. */
export type SharedOutputWriter = (db: Db, upload: ReceivedUpload, abandoned?: AbortSignal) => Promise<Written>;

/** What a waiting upload is told: its answer or error, or that its caller writes the next group. */
type Turn = OutputWriteResult<OutputJson> | { lead: true };

interface Waiting {
  db: Db;
  upload: ReceivedUpload;
  /** What it was told, once told. */
  told?: Turn;
  /** Called by whoever told it: `direct`, its promise is settled at once; `polled`, nothing (its own timer looks). */
  wake(): void;
  /** In `waiting`: neither written nor being written. */
  queued: boolean;
  /** Set when its caller writes a group. */
  write?: { startedAt: number };
}

function tell(w: Waiting, turn: Turn) {
  w.told = turn;
  w.wake();
}

/** How long the Node entry's next write waits for a lopsided group to fill (see the header). */
export const NODE_GATHER_MS = 1;

const byReceipt = (a: Waiting, b: Waiting) => (a.upload.receivedAt < b.upload.receivedAt ? -1 : 1);

/**
 * `defaultStorage`: the server's storage mode, for the URLs answered (FILES_STORAGE). `lostAfterMs`: a
 * write in flight for longer no longer holds its place — on Workers its request may have been cancelled
 * (the 30 s of `waitUntil` past its answer ran out) and its write with it; its statement, given 20 s
 * (DATABASE_STATEMENT_TIMEOUT_MS), has ended or failed by then.
 */
export function outputCoalescer(
  defaultStorage: StorageMode,
  {
    maxInFlight = 4,
    maxGroup = 200,
    stallMs = 50,
    lostAfterMs = 60_000,
    gatherMs = 0,
    handOff = 'direct' as 'direct' | 'polled',
    pollMs = 1,
  } = {},
): SharedOutputWriter {
  const answer = outputAsWritten(defaultStorage);
  const waiting: Waiting[] = [];
  /** When each write in flight started. */
  const inFlight = new Set<{ startedAt: number }>();
  let lastStartedAt = 0;
  /** The next write waits for `size` uploads, or for its timer. */
  let gathering: { size: number; timer: ReturnType<typeof setTimeout> } | undefined;

  function writesInFlight() {
    const now = performance.now();
    for (const write of inFlight) if (now - write.startedAt >= lostAfterMs) inFlight.delete(write);
    return inFlight.size;
  }

  function dequeue(w: Waiting) {
    waiting.splice(waiting.indexOf(w), 1);
    w.queued = false;
  }

  /** Hands the next write to `lead`'s caller; it is in flight until `writeGroup` ends it. */
  function startWrite(lead: Waiting) {
    stopGathering();
    dequeue(lead);
    lastStartedAt = performance.now();
    lead.write = { startedAt: lastStartedAt };
    inFlight.add(lead.write);
    tell(lead, { lead: true });
  }

  function stopGathering() {
    clearTimeout(gathering?.timer);
    gathering = undefined;
  }

  /** Starts the next write, if none is in flight, with the uploads waiting. */
  function writeWaiting() {
    stopGathering();
    if (writesInFlight() === 0 && waiting.length) startWrite(waiting[0]!);
  }

  /** After a write of `written` uploads: the next one now, or once as many wait again (see the header). */
  function afterWrite(written: number) {
    if (writesInFlight() > 0 || !waiting.length) return;
    if (gatherMs <= 0 || waiting.length >= written) return startWrite(waiting[0]!);
    stopGathering(); // one set while a write held past lostAfterMs ended
    gathering = { size: Math.min(maxGroup, waiting.length + written), timer: setTimeout(writeWaiting, gatherMs) };
  }

  /** Writes the lead's upload with those waiting (oldest first); the lead's own result is returned, the others told. */
  async function writeGroup(lead: Waiting): Promise<Written> {
    const group = [lead, ...waiting.splice(0, maxGroup - 1)].sort(byReceipt);
    for (const w of group) w.queued = false;
    let results: OutputWriteResult<OutputJson>[];
    try {
      results = await writeOutputs(lead.db, group.map((w) => w.upload), answer);
    } catch (error) {
      results = group.map(() => ({ error })); // the database is unavailable: every caller spools
    } finally {
      inFlight.delete(lead.write!);
      afterWrite(group.length);
    }
    group.forEach((w, i) => w !== lead && tell(w, results[i]!));
    const own = results[group.indexOf(lead)]!;
    if ('error' in own) throw own.error;
    return own;
  }

  /**
   * A lead whose caller stopped waiting before it took its turn (polled: its deadline passed between the
   * telling and its poll) writes nothing: its request has answered. The turn goes to those waiting.
   */
  function passTurn(lead: Waiting) {
    inFlight.delete(lead.write!);
    writeWaiting();
  }

  return async (db, upload, abandoned) => {
    const waitingSince = performance.now();
    const self: Waiting = { db, upload, queued: true, wake: () => {} };
    const turn = await new Promise<Turn>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => (clearTimeout(timer), resolve(self.told!));
      if (handOff === 'direct') self.wake = settle;
      waiting.push(self);
      abandoned?.addEventListener('abort', () => self.queued && (dequeue(self), tell(self, { error: abandoned.reason })), { once: true });
      if (gathering) {
        if (waiting.length >= gathering.size) writeWaiting();
      } else if (writesInFlight() === 0) startWrite(self);
      if (self.told) return settle(); // it leads the write
      // Until told, the caller keeps a timer: it takes what it was told (`polled`), and each time it finds
      // every write in flight stalled, this upload's caller writes those waiting. (On Workers it also keeps
      // the request alive: workerd cancels, as hung, a request waiting with nothing pending of its own — here,
      // on another request's write.)
      const wait = () => {
        timer = setTimeout(
          () => {
            const stalled = writesInFlight() < maxInFlight && performance.now() - lastStartedAt >= stallMs;
            if (stalled && self.queued) startWrite(self); // queued: not told yet (telling dequeues)
            if (self.told) settle();
            else wait();
          },
          handOff === 'polled' ? Math.min(stallMs, Math.max(pollMs, (performance.now() - waitingSince) / 20)) : stallMs,
        );
      };
      wait();
    });
    if ('lead' in turn) {
      if (abandoned?.aborted) {
        passTurn(self);
        throw abandoned.reason;
      }
      return writeGroup(self);
    }
    if ('error' in turn) throw turn.error;
    return turn;
  };
}
