/**
 * Output files leave with their outputs: batch and output deletions and retention record the R2
 * prefixes they emptied in the outbox (domain/files/file-deletion-outbox.ts) in the statement that
 * deletes the rows, then queue the rows' ids; this job deletes the objects under each prefix, then
 * its row. A message handles a few rows, then queues the rest: no invocation holds a whole commit's
 * listing. A send that fails loses nothing: the hourly drain queues the rows left behind. Deleting is
 * idempotent — a redelivered message finds its rows gone, or lists again and deletes what is left.
 */
import type { Db } from '../db/client';
import { forgetFileDeletion, overdueFileDeletions, pendingFileDeletions, type FileDeletion } from '../domain/files/file-deletion-outbox';
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

export function deleteFilesHandler(db: Db, store: ObjectStore, queue: JobQueue<DeleteFilesJob>): JobHandler<DeleteFilesJob> {
  return async (job) => {
    for (const deletion of await pendingFileDeletions(db, job.ids.slice(0, DELETIONS_PER_MESSAGE))) {
      if (BATCH_OR_OUTPUT_PREFIX.test(deletion.prefix)) await deleteObjects(store, deletion);
      else log('error', `refused to delete under ${JSON.stringify(deletion.prefix)}`);
      await forgetFileDeletion(db, deletion.id);
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
