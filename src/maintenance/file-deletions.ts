/**
 * Output files leave with their outputs: batch and output deletions and retention queue the R2
 * prefixes they emptied (`<project>/<commit>/<batch>/[<output>/]`), and this job deletes what is
 * under them. A message deletes a few prefixes, then queues the rest: no invocation holds a whole
 * commit's listing. Deleting is idempotent — a redelivered message lists again and deletes what
 * is left — so the work resumes wherever an invocation stopped.
 */
import type { JobHandler, JobQueue } from '../jobs/job-queue';
import type { ObjectStore } from '../lib/object-store';

export interface DeleteFilesJob {
  type: 'delete-files';
  /** Each ends with `/`. */
  prefixes: string[];
}

/** Prefixes one message deletes before queueing the rest. */
export const PREFIXES_PER_MESSAGE = 20;
/** Prefixes end with a batch or output id (`…/<commit>/<batch>/[<output>/]`): a slip never empties a commit or a project. */
const BATCH_OR_OUTPUT_PREFIX = /^[^/].*\/[^/]+\/\d+\/$/;

/** Queues the deletion of the files under these prefixes (nothing when there are none). */
export async function queueFileDeletions(queue: JobQueue<DeleteFilesJob>, prefixes: string[]): Promise<void> {
  if (prefixes.length) await queue.send({ type: 'delete-files', prefixes });
}

export function deleteFilesHandler(store: ObjectStore, queue: JobQueue<DeleteFilesJob>): JobHandler<DeleteFilesJob> {
  return async (job) => {
    const now = job.prefixes.slice(0, PREFIXES_PER_MESSAGE);
    for (const prefix of now) {
      if (!BATCH_OR_OUTPUT_PREFIX.test(prefix)) {
        console.error(JSON.stringify({ level: 'error', job: 'delete-files', message: `refused to delete under ${JSON.stringify(prefix)}` }));
        continue;
      }
      await store.delete(await store.list(prefix));
    }
    await queueFileDeletions(queue, job.prefixes.slice(PREFIXES_PER_MESSAGE));
  };
}
