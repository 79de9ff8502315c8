/**
 * "Batch completed" — the one seam that tells when a batch's last pending output has finished,
 * and runs what must happen then.
 *
 * Call `completeBatches(db, batchIds)` after anything that may end a batch's last pending run:
 * an upload that finishes an output (domain/ingest/ingest-outputs.ts answers it with a
 * `completionCheck`; src/ingestion/ calls this once the write is committed), a status edit from the web
 * app (PUT /api/v1/output/:id), a stop, the stale-run reaper, and the hourly clean-up's sweep of
 * batches whose run requests are still running (a safety net for a missed event). It checks, in
 * a fresh snapshot, which of the batches have no pending output left, runs every reaction on
 * those, and answers them.
 *
 * Uploads are the hot path: their statement carries `completionProbe`, so that they check
 * completion only when some reaction is concerned with their batch (a running run request…) —
 * most uploads pay nothing.
 *
 * Semantics, for whoever adds a reaction (with `concerns` telling which batches it cares about, e.g.
 * those of projects that opted in; a reaction needing a queue answers `FollowUps` for the caller):
 * - at least once: a batch may be reported complete more than once — a later upload of an
 *   already finished output, a redelivered queue message, two last outputs finishing together,
 *   the hourly sweep. Reactions must be idempotent (conditional updates, jobs deduplicated by key).
 * - a batch that runs again (a redo) completes again when its new runs end.
 * - reactions run in order, after the writes that completed the batch are committed; a reaction
 *   that needs a queue should record its work in the database (or be driven by the caller from the
 *   answered follow-ups), since the domain layer holds no queues.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';
import { awaitsBatchCompletion, finishRunRequests } from '../run-requests/run-requests';
import { claimVerdictRequests, wantsVerdict } from './verdict-requests';

export interface CompletedBatch {
  batchId: number;
  label: string;
  projectId: string;
  hexsha: string;
}

/** Work the domain can't do itself (it holds no queues): the caller queues a job per batch id. */
export interface FollowUps {
  /** Batches whose regression verdict must be posted to GitLab (gitlab/verdict-job.ts). */
  verdicts: number[];
}

/**
 * A batch as an upload's statement sees it, in SQL: its id and its project's `data`. The statement
 * may have created the batch or the project: their rows are not in its snapshot, only these values.
 */
interface BatchInStatement {
  batchId: SQL;
  projectData: SQL;
}

interface BatchCompletedReaction {
  /** Whether the reaction cares about a batch: uploads to other batches skip the check. */
  concerns: (batch: BatchInStatement) => SQL;
  react: (db: Db, batchIds: number[], completed: CompletedBatch[]) => Promise<Partial<FollowUps> | void>;
}

/** What happens when batches complete, in order. */
const REACTIONS: BatchCompletedReaction[] = [
  // Run requests whose runs reported here are done.
  { concerns: ({ batchId }) => awaitsBatchCompletion(batchId), react: (db, batchIds) => finishRunRequests(db, batchIds) },
  // Projects that want them get the batch's regression verdict on GitLab, once per burst.
  { concerns: ({ projectData }) => wantsVerdict(projectData), react: async (db, batchIds) => ({ verdicts: await claimVerdictRequests(db, batchIds) }) },
];

export interface Completion {
  completed: CompletedBatch[];
  followUps: FollowUps;
}

/** The batches among `batchIds` that have no pending output left, after running every reaction on them. */
export async function completeBatches(db: Db, batchIds: number[]): Promise<Completion> {
  const followUps: FollowUps = { verdicts: [] };
  const ids = [...new Set(batchIds)];
  if (!ids.length) return { completed: [], followUps };
  const completed = await queryRows<CompletedBatch>(
    db,
    sql`SELECT b.id AS "batchId", b.label, c.project_id AS "projectId", c.hexsha
        FROM batches b JOIN ci_commits c ON c.id = b.ci_commit_id
        WHERE b.id = ANY(${intArrayLiteral(ids)}::int[])
          AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.batch_id = b.id AND o.is_pending)`,
  );
  if (!completed.length) return { completed, followUps };
  const completedIds = completed.map((b) => b.batchId);
  for (const reaction of REACTIONS) {
    const asked = await reaction.react(db, completedIds, completed);
    followUps.verdicts.push(...(asked?.verdicts ?? []));
  }
  return { completed, followUps };
}

/**
 * How many other pending outputs of a batch an upload may see, in its own statement's snapshot,
 * and still be the one that finishes the batch: uploads finishing at the same moment can't see
 * each other's commits, so each sees the others as pending. Below this bound the upload checks
 * completion after it commits — the last to commit then sees them all finished; above it, it
 * can't be last unless more than this many runs finish at once (then the hourly sweep catches it).
 */
const CONCURRENT_FINISHES_TOLERATED = 64;

/**
 * A column for an upload's statement, `output` being an output it wrote (its row as written),
 * `writtenIds` a subquery of the ids the statement wrote (its snapshot shows them as they were) and
 * `projectData` the output's project's `data`: true when the output may have finished its batch's
 * last run and a reaction cares about the batch. The statement's caller then runs
 * `completeBatches` once the write is committed.
 */
export function completionProbe(output: SQL, writtenIds: SQL, projectData: SQL): SQL {
  const batchId = sql`${output}.batch_id`;
  const concerned = sql.join(REACTIONS.map((reaction) => reaction.concerns({ batchId, projectData })), sql` OR `);
  return sql`(NOT ${output}.is_pending AND (${concerned}) AND (SELECT count(*) FROM (
      SELECT 1 FROM outputs s WHERE s.batch_id = ${batchId} AND s.is_pending AND s.id NOT IN (${writtenIds}) LIMIT ${CONCURRENT_FINISHES_TOLERATED}
    ) pending_siblings) < ${CONCURRENT_FINISHES_TOLERATED})`;
}
