/**
 * The Node entry's spool consumer: writes spooled uploads, oldest first, whenever the database
 * is reachable — right after a bulk upload, or every `intervalMs` while anything waits.
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
import { chunkOf, writeSpooled, type SpoolWriteHooks } from './spooled-uploads';
import { isTransient, isUnavailable } from './write-outputs';

const MESSAGES_PER_BATCH = 100;
const ATTEMPTS_BEFORE_DEAD_LETTER = 3;

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
  const attempts = new Map<string, number>();

  async function drainOnce(): Promise<boolean> {
    if (!breaker.allows()) return false;
    const batch = await spool.take(MESSAGES_PER_BATCH);
    if (!batch.messages.length) {
      breaker.recordSuccess();
      return false;
    }
    for (const message of batch.messages) {
      try {
        await writeSpooled(db, message, hooks);
      } catch (error) {
        if (isUnavailable(error)) {
          breaker.recordFailure();
          return false; // the batch stays; written messages are recorded and will be skipped
        }
        if (isTransient(error)) {
          // A deadlock victim: no attempt of the message's; the batch is taken again at once.
          logger.log('warn', { spool: 'write conflict, retrying', receipt: message.receipt, error: failureMessage(error) });
          return true;
        }
        const key = `${message.receipt}/${chunkOf(message)}`;
        const tries = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, tries);
        logger.log('error', { spool: 'write failed', receipt: message.receipt, attempt: tries, error: failureMessage(error) });
        if (tries < ATTEMPTS_BEFORE_DEAD_LETTER) return false;
        await appendFile(path.join(folder, 'dead-letters.ndjson'), `${JSON.stringify({ error: failureMessage(error), message })}\n`);
        attempts.delete(key);
      }
    }
    await batch.done();
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
