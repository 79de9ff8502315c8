/**
 * What the web app changes on one output: its status flags ("Mark as finished"), its data and
 * metrics, and deleting it. Outputs of projects the caller can't see answer 404, as if missing.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { conflict, notFound } from '../../lib/problem';
import { completeBatches } from '../batches/batch-completion';
import { readOutput } from '../read/outputs';
import { recordFileDeletions, recordedIds } from '../files/file-deletion-outbox';
import { artifactKeys } from '../storage-locations';
import type { OutputJson } from '../v1-json';
import { nextUpdatedAt } from '../updated-at';

export interface OutputRef {
  id: number;
  batchId: number;
  ciCommitId: number;
  projectId: string;
  hexsha: string;
  batchLabel: string;
  isPending: boolean;
}

/** An output with what access checks and its batch need. */
export async function findOutput(db: Db, outputId: number, canSeeProject: (projectId: string) => boolean): Promise<OutputRef> {
  const [row] = await queryRows<OutputRef>(
    db,
    sql`SELECT o.id, o.batch_id AS "batchId", b.ci_commit_id AS "ciCommitId", c.project_id AS "projectId", c.hexsha, b.label AS "batchLabel", o.is_pending AS "isPending"
        FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id
        WHERE o.id = ${outputId}`,
  );
  if (!row || !canSeeProject(row.projectId)) throw notFound(`Sorry, there is no output ${outputId}.`);
  return row;
}

export interface OutputPatch {
  is_pending?: boolean;
  is_running?: boolean;
  is_failed?: boolean;
  /** Merged into the output's data, key by key (top level), as the original did. */
  data?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

/** `PUT /api/v1/output/:id`: sets the given flags, merges data and metrics; answers the output. */
export async function updateOutput(
  db: Db,
  outputId: number,
  patch: OutputPatch,
  canSeeProject: (projectId: string) => boolean,
): Promise<OutputJson> {
  const output = await findOutput(db, outputId, canSeeProject);
  const [updated] = await queryRows<{ is_pending: boolean }>(
    db,
    sql`UPDATE outputs SET
          is_pending = COALESCE(${patch.is_pending ?? null}::boolean, is_pending),
          is_running = COALESCE(${patch.is_running ?? null}::boolean, is_running),
          is_failed = COALESCE(${patch.is_failed ?? null}::boolean, is_failed),
          data = data || ${JSON.stringify(patch.data ?? {})}::jsonb,
          metrics = metrics || ${JSON.stringify(patch.metrics ?? {})}::jsonb,
          updated_at = ${nextUpdatedAt()}
        WHERE id = ${outputId}
        RETURNING is_pending`,
  );
  if (!updated) throw notFound(`Sorry, there is no output ${outputId}.`);
  if (output.isPending && !updated.is_pending) await completeBatches(db, [output.batchId]);
  return readOutput(db, outputId, canSeeProject);
}

/**
 * `DELETE /api/v1/output/:id`: soft marks it deleted (the row and its metadata stay: the web app
 * shows it as deleted, a redo brings it back); hard removes the row. Refused while it runs.
 * Either way its R2 files go: recorded in the file-deletion outbox by the same statement
 * (`fileDeletions`, for the caller to queue); a shared disk keeps its files (the site's).
 */
export async function deleteOutput(
  db: Db,
  outputId: number,
  soft: boolean,
  canSeeProject: (projectId: string) => boolean,
): Promise<{ status: 'OK'; fileDeletions: number[] }> {
  const output = await findOutput(db, outputId, canSeeProject);
  const refusal = conflict('Please wait for the output to finish running before deleting it.');
  if (output.isPending) throw refusal;
  const statement = soft
    ? sql`UPDATE outputs SET deleted = true, updated_at = ${nextUpdatedAt()} WHERE id = ${outputId} AND NOT is_pending RETURNING id`
    : sql`DELETE FROM outputs WHERE id = ${outputId} AND NOT is_pending RETURNING id`;
  const prefix = `${artifactKeys.output(output.projectId, output.hexsha, output.batchId, output.id)}/`;
  // Checked again in the statement: a run may have restarted since.
  const [row] = await queryRows<{ ids: number[] }>(
    db,
    sql`WITH gone AS (${statement}), outbox AS (${recordFileDeletions(sql`SELECT ${prefix}::text FROM gone`)}) SELECT ${recordedIds} AS ids FROM gone`,
  );
  if (!row) throw refusal;
  return { status: 'OK', fileDeletions: row.ids };
}
