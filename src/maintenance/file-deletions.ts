/**
 * Output files leave with their outputs: batch and output deletions and retention record the R2
 * prefixes they emptied in the outbox (domain/files/file-deletion-outbox.ts) in the statement that
 * deletes the rows, then queue the rows' ids; this job deletes the objects under each prefix, then
 * its row. Outputs moved to another batch change prefix: their rows (`moveTo`) copy each object to
 * the new prefix (the R2 binding has no server-side copy), then delete the old ones. A message
 * handles a few rows, then queues the rest: no invocation holds a whole commit's listing. A send
 * that fails loses nothing: the hourly drain queues the rows left behind. Both are idempotent — a
 * redelivered message finds its rows gone, or lists again and deletes (copies) what is left. A row
 * waits while an earlier one touching the same keys is pending (`waitsForEarlier`); a move done
 * queues again the rows that waited for it.
 */
import type { Db } from '../db/client';
import { forgetFileDeletion, overdueFileDeletions, pendingFileDeletion, waitsForEarlier, type FileDeletion } from '../domain/files/file-deletion-outbox';
import { filesMatching } from '../domain/files/output-files';
import type { JobHandler, JobQueue } from '../jobs/job-queue';
import type { ObjectStore } from '../lib/object-store';

export interface DeleteFilesJob {
  type: 'delete-files';
  /** Rows of `file_deletions`. */
  ids: number[];
}

/** Outbox rows one message handles before queueing the rest. */
export const DELETIONS_PER_MESSAGE = 20;
/** Rows the hourly drain queues at most (the next hour takes the rest). */
const DRAINED_PER_RUN = 2_000;
/** Younger rows' messages may still be on their way: the drain leaves them to those. */
const OVERDUE_AFTER_MS = 10 * 60_000;
/**
 * Prefixes end with a batch or output id after a commit id (`…/<commit>/<batch>/[<output>/]`): a slip
 * never empties a commit or a project. Ids are int4 (at most 10 digits), so a commit id made of
 * digits only (`00000001…`, 40 long) is not taken for one.
 */
const BATCH_OR_OUTPUT_PREFIX = /^[^/].*\/[0-9a-f]{4,64}\/\d{1,10}\/(?:\d{1,10}\/)?$/i;

const log = (level: 'warn' | 'error', message: string) => console[level](JSON.stringify({ level, job: 'delete-files', message }));

/**
 * Queues the deletions just recorded. Best effort: the rows are committed, and a send that fails
 * leaves them to the hourly drain — the deletion the caller asked for happened.
 */
export async function queueFileDeletions(queue: JobQueue<DeleteFilesJob>, ids: number[]): Promise<void> {
  if (!ids.length) return;
  try {
    await queue.send({ type: 'delete-files', ids });
  } catch (error) {
    log('warn', `queueing ${ids.length} file deletions failed (the hourly drain will do them): ${String(error)}`);
  }
}

/** Deletes a row's objects: every one under its prefix, or those its pattern matches; none uploaded after the request (a redone output's). */
async function deleteObjects(store: ObjectStore, deletion: FileDeletion) {
  const objects = (await store.listObjects(deletion.prefix)).filter((o) => o.uploaded.getTime() <= deletion.requestedAt);
  const doomed = deletion.pattern === null ? objects.map((o) => o.key) : filesMatching(objects, deletion.prefix, deletion.pattern);
  await store.delete(doomed);
}

/**
 * Copies a move's objects to their new keys, then deletes the old ones. A key already there is
 * kept when it is the same object (a copy from an earlier delivery) or newer than the move (an
 * upload to the output's new prefix, or a copy whose store doesn't keep ETags).
 */
async function moveObjects(store: ObjectStore, move: FileDeletion & { moveTo: string }) {
  const objects = await store.listObjects(move.prefix);
  for (const object of objects) {
    const key = move.moveTo + object.key.slice(move.prefix.length);
    const there = await store.head(key);
    if (there && ((there.size === object.size && there.etag === object.etag) || there.uploaded.getTime() >= move.requestedAt)) continue;
    const source = await store.read(object.key);
    if (source) await store.putStream(key, source.body, { size: source.info.size, ...(source.info.contentType && { contentType: source.info.contentType }) });
  }
  await store.delete(objects.map((o) => o.key));
}

export function deleteFilesHandler(db: Db, store: ObjectStore, queue: JobQueue<DeleteFilesJob>): JobHandler<DeleteFilesJob> {
  return async (job) => {
    for (const id of job.ids.slice(0, DELETIONS_PER_MESSAGE)) {
      // Read one at a time: a move done earlier in this message may have restarted a later deletion's clock.
      const row = await pendingFileDeletion(db, id);
      // Gone: done by an earlier delivery. Else left in the outbox: the row it waits for queues it again when done (else the hourly drain).
      if (!row || (await waitsForEarlier(db, row))) continue;
      const refused = [row.prefix, row.moveTo ?? row.prefix].find((prefix) => !BATCH_OR_OUTPUT_PREFIX.test(prefix));
      if (refused !== undefined) log('error', `refused to ${row.moveTo === null ? 'delete' : 'move files'} under ${JSON.stringify(refused)}`);
      else if (row.moveTo === null) await deleteObjects(store, row);
      else await moveObjects(store, { ...row, moveTo: row.moveTo });
      await queueFileDeletions(queue, await forgetFileDeletion(db, row.id));
    }
    await queueFileDeletions(queue, job.ids.slice(DELETIONS_PER_MESSAGE));
  };
}

/** Queues the deletions whose message was lost (a failed send, a stopped invocation), a message per `DELETIONS_PER_MESSAGE`. */
export async function drainFileDeletions(db: Db, queue: JobQueue<DeleteFilesJob>, now: Date): Promise<number> {
  const ids = await overdueFileDeletions(db, new Date(now.getTime() - OVERDUE_AFTER_MS), DRAINED_PER_RUN);
  for (let i = 0; i < ids.length; i += DELETIONS_PER_MESSAGE) await queueFileDeletions(queue, ids.slice(i, i + DELETIONS_PER_MESSAGE));
  if (ids.length) console.log(`delete-files: queued ${ids.length} overdue deletions`);
  return ids.length;
}
