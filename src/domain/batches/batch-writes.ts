/**
 * What the web app does to a batch — stop, rename, move outputs, delete — and to all the batches
 * of a commit. Batches are addressed by id: those of projects the caller can't see answer 404.
 * Deletions are set-based (one statement whatever the number of outputs). They record the R2
 * prefixes they emptied in the file-deletion outbox, in the same statement, and answer the rows'
 * ids (`fileDeletions`) for the caller to queue; a site's shared disk keeps its files.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';
import { ApiError, conflict, notFound } from '../../lib/problem';
import { assertNotMilestoneBatch, assertNotMilestoneCommit, milestoneBatches } from '../milestones/milestones';
import { failRunsSet } from '../outputs/fail-runs';
import { referenceBranchOf } from '../projects/reference-branch';
import { checkedFilePattern } from '../files/output-files';
import { recordFileDeletions, recordFileMoves, recordedIds } from '../files/file-deletion-outbox';
import { STORAGE_MODE_SQL } from '../rows';
import { artifactKeys, type StorageMode } from '../storage-locations';
import { cancelRunRequestsOfBatches } from '../run-requests/run-requests';
import { completeBatches } from './batch-completion';
import { outputFilter, type FilterableOutput } from './output-filter';
import { nextUpdatedAt } from '../updated-at';

export interface BatchRef {
  id: number;
  label: string;
  ciCommitId: number;
  projectId: string;
  hexsha: string;
}

export async function findBatch(db: Db, batchId: number, canSeeProject: (projectId: string) => boolean): Promise<BatchRef> {
  const [row] = await queryRows<BatchRef>(
    db,
    sql`SELECT b.id, b.label, b.ci_commit_id AS "ciCommitId", c.project_id AS "projectId", c.hexsha
        FROM batches b JOIN ci_commits c ON c.id = b.ci_commit_id WHERE b.id = ${batchId}`,
  );
  if (!row || !canSeeProject(row.projectId)) throw notFound(`Sorry, there is no batch ${batchId}.`);
  return row;
}

/** Run requests a stop or a deletion cancelled: the caller cancels their pipelines. */
export type CancelledRunRequests = { id: number; pipeline_id: number | null }[];

const isUniqueViolation = (error: unknown) => ((error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code) === '23505';

/**
 * Stops a batch: its unfinished runs end as failed ("stopped"), the run requests reporting to it
 * are cancelled (their pipelines with them). The batch may be complete now.
 */
export async function stopBatch(db: Db, batch: BatchRef): Promise<{ stopped_outputs: number; cancelled: CancelledRunRequests }> {
  const cancelled = await cancelRunRequestsOfBatches(db, [batch.id]);
  const [stopped] = await queryRows<{ n: number }>(
    db,
    sql`WITH stopped AS (
          UPDATE outputs SET ${failRunsSet('stopped')} WHERE batch_id = ${batch.id} AND (is_pending OR is_running) RETURNING 1
        ) SELECT count(*)::int AS n FROM stopped`,
  );
  await completeBatches(db, [batch.id]);
  return { stopped_outputs: stopped!.n, cancelled };
}

async function assertNothingRuns(db: Db, batch: BatchRef, action: string) {
  const [row] = await queryRows<{ runs: boolean }>(db, sql`SELECT EXISTS (SELECT 1 FROM outputs WHERE batch_id = ${batch.id} AND is_pending) AS runs`);
  if (row?.runs) throw conflict(`Batch ${batch.label} still has runs in progress: wait for them or stop the batch before you ${action} (their results would be reported to the old label).`);
}

/** Renames a batch (the label must be free in its commit; its own label changes nothing); refused while it runs. */
export async function renameBatch(db: Db, batch: BatchRef, label: string): Promise<{ status: 'OK' }> {
  if (label === batch.label) return { status: 'OK' };
  await assertNothingRuns(db, batch, 'rename it');
  const taken = conflict(`A batch labelled ${label} already exists in commit ${batch.hexsha}.`);
  let renamed: unknown[];
  try {
    renamed = await queryRows(
      db,
      sql`UPDATE batches b SET label = ${label} WHERE b.id = ${batch.id}
            AND NOT EXISTS (SELECT 1 FROM batches other WHERE other.ci_commit_id = b.ci_commit_id AND other.label = ${label})
          RETURNING b.id`,
    );
  } catch (error) {
    if (isUniqueViolation(error)) throw taken;
    throw error;
  }
  if (!renamed.length) throw taken;
  return { status: 'OK' };
}

/** Deletes the batch when it has no output left, unless a milestone points at it; whether it did. */
async function deleteIfEmptied(db: Db, batch: BatchRef): Promise<boolean> {
  const deleted = await queryRows(
    db,
    sql`DELETE FROM batches b WHERE b.id = ${batch.id}
          AND NOT EXISTS (SELECT 1 FROM outputs WHERE batch_id = ${batch.id})
          AND NOT EXISTS (SELECT 1 FROM (${milestoneBatches}) mb
            WHERE mb.project_id = ${batch.projectId} AND mb.hexsha = ${batch.hexsha} AND mb.label = b.label)
        RETURNING b.id`,
  );
  return deleted.length > 0;
}

/**
 * Moves the outputs the web app's filter selects into the batch `label` of the same commit
 * (created if needed); an emptied batch is deleted, unless a milestone points at it. Refused when
 * a selected output runs, or when the target already has the same run. Files in R2 live under
 * their batch's prefix: the statement records their move in the outbox (`fileMoves`, for the
 * caller to queue); a site's shared disk keeps its files where they were (the site owns them).
 */
export async function moveOutputs(
  db: Db,
  batch: BatchRef,
  label: string,
  filter: string | null | undefined,
  defaultStorage: StorageMode,
): Promise<{ status: 'OK'; moved_outputs: number; fileMoves: number[] }> {
  const candidates = await queryRows<FilterableOutput & { id: number }>(
    db,
    sql`SELECT o.id, t.path AS "testInputPath", o.platform, o.configurations, o.extra_parameters AS "extraParameters",
          t.data -> 'metadata' AS "testInputMetadata", o.is_failed AS "isFailed", o.is_pending AS "isPending"
        FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id WHERE o.batch_id = ${batch.id} ORDER BY o.id`,
  );
  const selected = candidates.filter(outputFilter(filter));
  if (label === batch.label || !selected.length) return { status: 'OK', moved_outputs: 0, fileMoves: [] };
  if (selected.some((o) => o.isPending)) throw conflict(`Some of the selected outputs of ${batch.label} are still running: wait for them or stop the batch first.`);
  const ids = intArrayLiteral(selected.map((o) => o.id));
  try {
    const commitPrefix = `${artifactKeys.commit(batch.projectId, batch.hexsha)}/`;
    const inR2 = sql`(SELECT coalesce(${sql.raw(STORAGE_MODE_SQL)}, ${defaultStorage}) = 'r2'
                      FROM ci_commits c JOIN projects p ON p.id = c.project_id WHERE c.id = ${batch.ciCommitId})`;
    return await db.transaction(async (tx) => {
      const [moved] = await queryRows<{ ids: number[] }>(
        tx,
        sql`
        WITH new_batch AS (
          INSERT INTO batches (ci_commit_id, label) VALUES (${batch.ciCommitId}, ${label}) ON CONFLICT (ci_commit_id, label) DO NOTHING RETURNING id
        ),
        target AS (SELECT id FROM new_batch UNION ALL SELECT id FROM batches WHERE ci_commit_id = ${batch.ciCommitId} AND label = ${label}),
        moved AS (UPDATE outputs SET batch_id = (SELECT id FROM target LIMIT 1), updated_at = ${nextUpdatedAt()} WHERE id = ANY(${ids}::int[]) RETURNING id, batch_id),
        outbox AS (${recordFileMoves(sql`SELECT ${commitPrefix}::text || ${batch.id} || '/' || id || '/', ${commitPrefix}::text || batch_id || '/' || id || '/' FROM moved WHERE ${inR2}`)})
        SELECT ${recordedIds} AS ids`,
      );
      await deleteIfEmptied(tx, batch);
      return { status: 'OK' as const, moved_outputs: selected.length, fileMoves: moved!.ids };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`Batch ${label} already has some of these runs (same input, platform, configurations and parameters): nothing was moved.`);
    throw error;
  }
}

export interface BatchDeletion {
  /** Mark outputs deleted, keeping them and their metadata; else remove them. */
  soft: boolean;
  onlyFailed: boolean;
  /** With `soft`: an fnmatch pattern of the files to delete in each output, whose rows stay as they are. */
  fileFilter?: string;
}

/**
 * Deletes a batch's outputs (`onlyFailed`: its failed ones). Deleting all of them stops the batch
 * first; a hard delete that leaves it empty deletes the batch too. A milestone's batch can only
 * lose its failed outputs, or its files. Deleting files (`soft` with a `fileFilter`) deletes the
 * matching R2 files of the (failed) outputs and changes no row: it stops nothing (the original
 * stopped the whole batch first, failing the runs still going for a request about some of their
 * files). `fileDeletions`: the outbox rows recorded with the deletion, to queue.
 */
export async function deleteBatchOutputs(
  db: Db,
  batch: BatchRef,
  { soft, onlyFailed, fileFilter }: BatchDeletion,
): Promise<{ status: 'OK'; deleted_outputs: number; batch_deleted: boolean; cancelled: CancelledRunRequests; fileDeletions: number[] }> {
  const batchPrefix = `${artifactKeys.batch(batch.projectId, batch.hexsha, batch.id)}/`;
  const failedOnly = onlyFailed ? sql`AND is_failed` : sql``;
  /** The R2 prefixes of the outputs (`id`s) a FROM item holds. */
  const outputPrefixesOf = (outputs: SQL) => sql`SELECT ${batchPrefix}::text || id || '/' FROM ${outputs}`;
  if (soft && fileFilter) {
    const [row] = await queryRows<{ ids: number[] }>(
      db,
      sql`WITH outbox AS (${recordFileDeletions(outputPrefixesOf(sql`outputs WHERE batch_id = ${batch.id} ${failedOnly}`), checkedFilePattern(fileFilter))})
          SELECT ${recordedIds} AS ids`,
    );
    return { status: 'OK', deleted_outputs: 0, batch_deleted: false, cancelled: [], fileDeletions: row!.ids };
  }
  if (!soft && !onlyFailed) await assertNotMilestoneBatch(db, batch.projectId, batch.hexsha, batch.label);
  const cancelled = onlyFailed ? [] : (await stopBatch(db, batch)).cancelled;
  // What the batch's files become: all of them go, or the removed outputs' ones.
  const filesOf = (outputs: SQL) => recordFileDeletions(onlyFailed ? outputPrefixesOf(outputs) : sql`SELECT ${batchPrefix}::text`);
  if (soft) {
    const [row] = await queryRows<{ n: number; ids: number[] }>(
      db,
      sql`WITH marked AS (UPDATE outputs SET deleted = true, updated_at = ${nextUpdatedAt()} WHERE batch_id = ${batch.id} ${failedOnly} AND NOT deleted RETURNING id),
          outbox AS (${filesOf(sql`marked`)})
          SELECT (SELECT count(*)::int FROM marked) AS n, ${recordedIds} AS ids`,
    );
    return { status: 'OK', deleted_outputs: row!.n, batch_deleted: false, cancelled, fileDeletions: row!.ids };
  }
  if (!onlyFailed) {
    // Deleting the batch row deletes its outputs (ON DELETE CASCADE: one set-based delete).
    const [row] = await queryRows<{ n: number; ids: number[] }>(
      db,
      sql`WITH counted AS (SELECT count(*)::int AS n FROM outputs WHERE batch_id = ${batch.id}),
          deleted AS (DELETE FROM batches WHERE id = ${batch.id} RETURNING id),
          outbox AS (${recordFileDeletions(sql`SELECT ${batchPrefix}::text FROM deleted`)})
          SELECT (SELECT n FROM counted) AS n, ${recordedIds} AS ids`,
    );
    return { status: 'OK', deleted_outputs: row!.n, batch_deleted: true, cancelled, fileDeletions: row!.ids };
  }
  const [deleted] = await queryRows<{ n: number; ids: number[] }>(
    db,
    sql`WITH deleted AS (DELETE FROM outputs WHERE batch_id = ${batch.id} AND is_failed RETURNING id),
        outbox AS (${filesOf(sql`deleted`)})
        SELECT (SELECT count(*)::int FROM deleted) AS n, ${recordedIds} AS ids`,
  );
  const emptied = await deleteIfEmptied(db, batch);
  return { status: 'OK', deleted_outputs: deleted!.n, batch_deleted: emptied, cancelled, fileDeletions: deleted!.ids };
}

interface CommitToClear {
  id: number;
  projectId: string;
  hexsha: string;
  isReferenceHead: boolean;
}

/**
 * `DELETE /api/v1/commit/[:project/]:hexsha/batches`: deletes every batch of the commit — in the
 * project, or in every project (the sub-projects of a repository) the caller can see. The commit
 * itself stays. Refused (403, nothing deleted) for a milestone commit or the head of a reference branch.
 */
export async function deleteCommitBatches(
  db: Db,
  projectId: string | undefined,
  hexsha: string,
  canSeeProject: (projectId: string) => boolean,
): Promise<{ status: 'OK'; deleted_batches: number; deleted_outputs: number; cancelled: CancelledRunRequests; fileDeletions: number[] }> {
  const sha = hexsha.toLowerCase();
  const rows = await queryRows<Omit<CommitToClear, 'isReferenceHead'> & { config: unknown }>(
    db,
    sql`SELECT c.id, c.project_id AS "projectId", c.hexsha, p.data -> 'qatools_config' AS config
        FROM ci_commits c JOIN projects p ON p.id = c.project_id
        WHERE c.hexsha = ${sha} ${projectId === undefined ? sql`` : sql`AND c.project_id = ${projectId}`}`,
  );
  const commits = rows.filter((c) => canSeeProject(c.projectId));
  if (!commits.length) throw notFound(`Sorry, we could not find commit ${hexsha}${projectId ? ` in project ${projectId}` : ''}.`);
  for (const commit of commits) {
    await assertNotMilestoneCommit(db, commit.projectId, commit.hexsha);
    const branch = referenceBranchOf(commit.config);
    const [head] = await queryRows<{ hexsha: string }>(
      db,
      sql`SELECT hexsha FROM ci_commits WHERE project_id = ${commit.projectId} AND branch IN (${branch}, ${`origin/${branch}`})
          ORDER BY authored_datetime DESC LIMIT 1`,
    );
    if (head?.hexsha === commit.hexsha) {
      throw new ApiError(403, `Commit ${commit.hexsha} is the latest of ${commit.projectId}'s reference branch (${branch}): its batches can't be deleted.`);
    }
  }
  const commitIds = intArrayLiteral(commits.map((c) => c.id));
  const batchRows = await queryRows<{ id: number; commitId: number }>(db, sql`SELECT id, ci_commit_id AS "commitId" FROM batches WHERE ci_commit_id = ANY(${commitIds}::int[])`);
  const batchIds = batchRows.map((b) => b.id);
  const commitOf = new Map(commits.map((c) => [c.id, c]));
  const filePrefixes = batchRows.map((b) => `${artifactKeys.batch(commitOf.get(b.commitId)!.projectId, commitOf.get(b.commitId)!.hexsha, b.id)}/`);
  const cancelled = await cancelRunRequestsOfBatches(db, batchIds);
  const [counts] = await queryRows<{ batches: number; outputs: number; ids: number[] }>(
    db,
    sql`WITH counted AS (SELECT count(*)::int AS n FROM outputs WHERE batch_id = ANY(${intArrayLiteral(batchIds)}::int[])),
        deleted AS (DELETE FROM batches WHERE id = ANY(${intArrayLiteral(batchIds)}::int[]) RETURNING id),
        outbox AS (${recordFileDeletions(sql`SELECT jsonb_array_elements_text(${JSON.stringify(filePrefixes)}::jsonb)`)})
        SELECT (SELECT count(*)::int FROM deleted) AS batches, (SELECT n FROM counted) AS outputs, ${recordedIds} AS ids`,
  );
  return { status: 'OK', deleted_batches: counts!.batches, deleted_outputs: counts!.outputs, cancelled, fileDeletions: counts!.ids };
}
