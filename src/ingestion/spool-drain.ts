/**
 * The Node entry's spool consumer: writes spooled uploads in spool order (two at a time where their
 * order can't matter: spooled-uploads.ts `writeSteps`) whenever the database is reachable — right
 * after a bulk upload, or every `intervalMs` while anything waits.
 * A message the database keeps refusing for another reason than a transient one (write-outputs.ts
 * `isTransient`: a bug) is set aside in `dead-letters.ndjson` after a few attempts, so it can't
 * block every upload behind it.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/client';
import { failureMessage } from '../lib/database-failure';
import type { Logger } from '../lib/logger';
import type { CircuitBreaker } from './circuit-breaker';
import type { FileSpool } from './file-spool';
import { chunkOf, writeSpooled, writeSteps, type SpooledUpload, type SpoolWriteHooks } from './spooled-uploads';
import { isTransient, isUnavailable } from './write-outputs';

const MESSAGES_PER_BATCH = 100;
/**
 * Outputs chunks written at once, each on its own connection: Postgres writes one while this
 * process prepares the next (the process idled ~40% of a bulk write with one).
 */
const WRITERS = 2;
const ATTEMPTS_BEFORE_DEAD_LETTER = 3;
/**
 * Conflicts in a row (deadlock victims: write-outputs.ts `isTransient`) that make one attempt: a
 * deadlock clears at once, so the message is written again at once; one that never clears is not
 * retried forever, it counts as attempts like any other failure.
 */
const CONFLICTS_PER_ATTEMPT = 5;

/** What became of a message: done with (written, or set aside), or the drain stops until later, or takes its batch again at once. */
type WriteOutcome = 'done' | 'stop' | 'again';

export interface SpoolDrain {
  /** Drain now (after an append). */
  kick(): void;
  /** Resolves once nothing is waiting or the database is unavailable (tests, shutdown). */
  idle(): Promise<void>;
  stop(): void;
}

export function startSpoolDrain(
  spool: FileSpool,
  { db, hooks, breaker, logger, folder, intervalMs = 1_000 }: { db: Db; hooks: SpoolWriteHooks; breaker: CircuitBreaker; logger: Logger; folder: string; intervalMs?: number },
): SpoolDrain {
  let running: Promise<void> | undefined;
  // Failed attempts, and conflicts in a row, by message (receipt/chunk).
  const attempts = new Map<string, number>();
  const conflicts = new Map<string, number>();
  /** Messages of the batch under way set aside already: taken again (another message stopped the batch), they are skipped. */
  const setAside = new Set<string>();

  async function write(message: SpooledUpload): Promise<WriteOutcome> {
    const key = `${message.receipt}/${chunkOf(message)}`;
    if (setAside.has(key)) return 'done';
    try {
      await writeSpooled(db, message, hooks);
      attempts.delete(key);
      conflicts.delete(key);
      return 'done';
    } catch (error) {
      if (isUnavailable(error)) {
        breaker.recordFailure();
        return 'stop'; // the batch stays; written messages are recorded and will be skipped
      }
      const conflictsInARow = isTransient(error) ? (conflicts.get(key) ?? 0) + 1 : 0;
      if (conflictsInARow && conflictsInARow < CONFLICTS_PER_ATTEMPT) {
        // A deadlock victim: not an attempt of the message's; the batch is taken again at once.
        conflicts.set(key, conflictsInARow);
        logger.log('warn', { spool: 'write conflict, retrying', receipt: message.receipt, error: failureMessage(error) });
        return 'again';
      }
      conflicts.delete(key);
      const tries = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, tries);
      logger.log('error', { spool: 'write failed', receipt: message.receipt, attempt: tries, error: failureMessage(error) });
      if (tries < ATTEMPTS_BEFORE_DEAD_LETTER) return 'stop';
      await appendFile(path.join(folder, 'dead-letters.ndjson'), `${JSON.stringify({ error: failureMessage(error), message })}\n`);
      attempts.delete(key);
      setAside.add(key);
      return 'done';
    }
  }

  /**
   * Writes the messages of a step, WRITERS at a time; a writer takes no more once one message wasn't
   * done with. Settles only once every writer has stopped: the next pass may take the same messages.
   */
  async function writeStep(step: SpooledUpload[]): Promise<WriteOutcome> {
    const outcomes = new Set<WriteOutcome>();
    let next = 0;
    const writers = await Promise.allSettled(
      Array.from({ length: Math.min(WRITERS, step.length) }, async () => {
        while (outcomes.size === 0 && next < step.length) {
          const outcome = await write(step[next++]!);
          if (outcome !== 'done') outcomes.add(outcome);
        }
      }),
    );
    for (const writer of writers) if (writer.status === 'rejected') throw writer.reason;
    return outcomes.has('stop') ? 'stop' : outcomes.has('again') ? 'again' : 'done';
  }

  async function drainOnce(): Promise<boolean> {
    if (!breaker.allows()) return false;
    const batch = await spool.take(MESSAGES_PER_BATCH);
    if (!batch.messages.length) {
      breaker.recordSuccess();
      return false;
    }
    for (const step of writeSteps(batch.messages)) {
      const outcome = await writeStep(step);
      if (outcome !== 'done') return outcome === 'again';
    }
    await batch.done();
    setAside.clear();
    breaker.recordSuccess();
    return true;
  }

  const run = () => {
    running ??= (async () => {
      try {
        while (await drainOnce());
      } catch (error) {
        logger.log('error', { spool: 'drain failed', error: failureMessage(error) });
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void spool.depth().then((depth) => void (depth && run())), intervalMs);
  timer.unref();
  return {
    kick: () => void run(),
    async idle() {
      while (running) await running;
    },
    stop: () => clearInterval(timer),
  };
}
