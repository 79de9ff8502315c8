/**
 * Group commit for a process that serves many concurrent uploads (the Node entry): uploads that
 * arrive while a write is in flight wait for it, then go together — one statement per commit, in one
 * transaction when there are several (see domain/ingest/ingest-outputs.ts). A lone upload is written
 * at once, so nothing waits when there is nothing to group; under load, groups grow by themselves.
 * Each caller gets its own answer, or its own error.
 *
 * One write at a time: two in flight halve the groups, and the statement's cost is mostly per
 * statement — `npm run bench`, A/B: 1,547–1,685 uploads/s with one, 1,285–1,404 with two (Postgres
 * CPU per upload 0.27 ms against 0.43). But a write can stall (a lock held by another transaction,
 * a slow disk): when every write in flight started `stallMs` ago or more, waiting uploads go in
 * another one, up to `maxInFlight`, rather than all waiting on the stuck one.
 */
import type { Db } from '../db/client';
import { envelopeSha } from '../domain/ingest/envelope';
import { ingestOutputs, outputAsWritten, type ReceivedUpload } from '../domain/ingest/ingest-outputs';
import type { StorageMode } from '../domain/storage-locations';
import type { OutputJson } from '../domain/v1-json';
import { writeOutputs, type OutputWriteResult } from './write-outputs';

type Written = Extract<OutputWriteResult<OutputJson>, { written: unknown }>;
export type OutputWriter = (upload: ReceivedUpload) => Promise<Written>;

/** One upload is one statement: atomic by itself, no transaction round trips. */
async function writeOne(db: Db, upload: ReceivedUpload, defaultStorage: StorageMode): Promise<Written> {
  const [written] = await ingestOutputs(db, [upload], outputAsWritten(defaultStorage));
  return { written: written!, hexsha: envelopeSha(upload.upload)! };
}

interface Waiting {
  upload: ReceivedUpload;
  resolve(result: Written): void;
  reject(error: unknown): void;
}

/** `defaultStorage`: the server's storage mode, for the URLs answered (FILES_STORAGE). */
export function outputCoalescer(
  db: Db,
  defaultStorage: StorageMode,
  { maxInFlight = 4, maxGroup = 200, stallMs = 50 } = {},
): OutputWriter {
  const answer = outputAsWritten(defaultStorage);
  let waiting: Waiting[] = [];
  let inFlight = 0;
  let lastStartedAt = 0;
  let stallTimer: ReturnType<typeof setTimeout> | undefined;

  function writeWaiting() {
    if (!waiting.length || inFlight >= maxInFlight) return;
    const sinceLastStart = performance.now() - lastStartedAt;
    if (inFlight === 0 || sinceLastStart >= stallMs) void flush();
    else stallTimer ??= setTimeout(() => ((stallTimer = undefined), writeWaiting()), stallMs - sinceLastStart);
  }

  async function flush() {
    inFlight += 1;
    lastStartedAt = performance.now();
    const group = waiting.splice(0, maxGroup);
    try {
      const results = await writeOutputs(db, group.map((w) => w.upload), answer);
      results.forEach((result, i) => ('error' in result ? group[i]!.reject(result.error) : group[i]!.resolve(result)));
    } catch (error) {
      for (const w of group) w.reject(error); // the database is unavailable: every caller spools
    } finally {
      inFlight -= 1;
      writeWaiting();
    }
  }

  return (upload) =>
    new Promise((resolve, reject) => {
      waiting.push({ upload, resolve, reject });
      writeWaiting();
    });
}

/** One upload, one write: for runtimes where each request has its own connection (Workers). */
export const directOutputWriter =
  (db: Db, defaultStorage: StorageMode): OutputWriter =>
  (upload) =>
    writeOne(db, upload, defaultStorage);
