/**
 * Commits as the v1 API shows them: with their batches, each batch's output counts and aggregated
 * metrics (computed in SQL), and optionally every output. Loads any number of commits with a
 * handful of queries, whatever their number, sent together (db/client.ts `readBatch`): one request
 * over Neon's HTTP.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, readBatch, type Db } from '../../db/client';
import { batchColumns, type BatchRow, type CommitRow } from '../rows';
import type { StorageMode } from '../storage-locations';
import { commitJson, OUTPUT_JSON_SQL, type BatchSummary, type CommitJson, type OutputOfBatch } from '../v1-json';
import { aggregatedMetrics, cachedAggregatesOf, definedMetricNames, OUTPUTS_FINGERPRINT, type MetricAggregate } from './metric-aggregates';

export interface CommitDetailsOptions {
  /** Only this batch (all batches when absent). */
  batchLabel?: string;
  /** Metric names to aggregate (median and average over valid outputs). */
  metrics: string[];
  withOutputs: boolean;
  /** Where files are when a project's qaboard.yaml doesn't say (the server's `FILES_STORAGE`). */
  defaultStorage?: StorageMode;
}

const OUTPUT_HEAD = sql.raw(OUTPUT_JSON_SQL.head);
const OUTPUT_TAIL = sql.raw(OUTPUT_JSON_SQL.tail);

type BatchCountsRow = BatchRow & Omit<BatchSummary, 'aggregated_metrics'> & { cached: MetricAggregate[] | null };

/** SQL: the batches `b` of the commits `commitIds` (an int[] expression) shown, of `batchLabel` when given. */
const batchesOf = (commitIds: SQL, batchLabel: string | undefined) =>
  sql`b.ci_commit_id = ANY(${commitIds}) ${batchLabel === undefined ? sql`` : sql`AND b.label = ${batchLabel}`}`;

/**
 * The batches of the commits, each with its output counts and aggregated metrics, in one statement:
 * the counts and the outputs' fingerprint from the `outputs_batch_summary` index (an index-only
 * scan), and the cached aggregates of `metrics` still exact for that fingerprint.
 * The outputs are read per batch (LATERAL), by index whatever the planner thinks of the batches'
 * sizes: a join over a million outputs was planned as a sequential scan.
 */
const batchSummariesQuery = (commitIds: SQL, metrics: string[], batchLabel: string | undefined) =>
  sql`SELECT s.*, ${metrics.length ? cachedAggregatesOf(metrics) : sql`NULL`} AS cached
    FROM (
      SELECT ${batchColumns}, b.created_date AS created_order, o.*
      FROM batches b CROSS JOIN LATERAL (
        SELECT
          count(*) FILTER (WHERE NOT o.is_failed AND NOT o.is_pending)::int AS valid_outputs,
          count(*) FILTER (WHERE o.is_pending)::int AS pending_outputs,
          count(*) FILTER (WHERE o.is_running)::int AS running_outputs,
          count(*) FILTER (WHERE o.is_failed)::int AS failed_outputs,
          count(*) FILTER (WHERE o.deleted)::int AS deleted_outputs,
          ${OUTPUTS_FINGERPRINT} AS outputs_fingerprint
        FROM outputs o WHERE o.batch_id = b.id) o
      WHERE ${batchesOf(commitIds, batchLabel)}) s
    ORDER BY s.created_order, s.id`;

/**
 * The outputs of the batches, their JSON written by Postgres (OUTPUT_JSON_SQL), in id order. The
 * batches' ids are an InitPlan (`ARRAY(...)`): the outputs are then found by index, as from a list of ids.
 */
const outputsQuery = (commitIds: SQL, batchLabel: string | undefined) =>
  // What `outputDirUrl` derives a folder from, only when it must (an output without a folder of its own).
  sql`SELECT o.id, o.batch_id AS "batchId", o.output_dir_override AS "outputDirOverride",
      ${OUTPUT_HEAD} AS head, ${OUTPUT_TAIL} AS tail,
      CASE WHEN o.output_dir_override IS NULL THEN o.platform END AS platform,
      CASE WHEN o.output_dir_override IS NULL THEN o.configurations END AS configurations,
      CASE WHEN o.output_dir_override IS NULL THEN o.extra_parameters END AS "extraParameters",
      CASE WHEN o.output_dir_override IS NULL THEN t.path END AS "testInputPath"
    FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
    WHERE o.batch_id = ANY(ARRAY(SELECT b.id FROM batches b WHERE ${batchesOf(commitIds, batchLabel)}))
    ORDER BY o.id`;

/**
 * The statements that read the details of the commits `commitIds` (an int[] expression, which may
 * itself find them), independent of each other: sent together with `readBatch`, and given back to
 * `assembleDetails` with the commits.
 */
export const detailsQueries = (commitIds: SQL, options: CommitDetailsOptions) => {
  const summaries = batchSummariesQuery(commitIds, options.metrics, options.batchLabel);
  return options.withOutputs ? [summaries, outputsQuery(commitIds, options.batchLabel)] : [summaries];
};

/** The commits' JSON from what `detailsQueries` read; metrics missing from the cache are computed (and stored, see `aggregatedMetrics`) now. */
export async function assembleDetails(
  db: Db,
  commits: CommitRow[],
  [summaries, outputs]: unknown[][],
  options: CommitDetailsOptions,
): Promise<CommitJson[]> {
  if (!commits.length) return [];
  // Every commit shown together belongs to one project.
  const defined = definedMetricNames(commits[0]!.projectData);
  const rows = summaries as BatchCountsRow[];
  const aggregates = await aggregatedMetrics(
    db,
    rows.map((row) => ({ id: row.id, found: row.cached ?? [] })),
    options.metrics,
    defined,
  );
  const outputsOfBatch = new Map<number, OutputOfBatch[]>(rows.map((row) => [row.id, []]));
  // Outside Neon's HTTP batch the statements may see different snapshots: what belongs to a commit not shown is left out.
  for (const output of (outputs ?? []) as OutputOfBatch[]) outputsOfBatch.get(output.batchId)?.push(output);
  const batchesOfCommit = new Map<number, Parameters<typeof commitJson>[1]>(commits.map((c) => [c.commitId, []]));
  for (const { valid_outputs, pending_outputs, running_outputs, failed_outputs, deleted_outputs, ...row } of rows) {
    const summary: BatchSummary = { valid_outputs, pending_outputs, running_outputs, failed_outputs, deleted_outputs, aggregated_metrics: aggregates.get(row.id)! };
    const outputsShown = options.withOutputs ? outputsOfBatch.get(row.id) : undefined;
    batchesOfCommit.get(row.ciCommitId)?.push({ row: row as BatchRow, summary, outputs: outputsShown });
  }
  return commits.map((commit) => commitJson(commit, batchesOfCommit.get(commit.commitId)!, options.defaultStorage));
}

/** The details of commits already read: their batches' statements in one request (readBatch). */
export async function commitDetails(db: Db, commits: CommitRow[], options: CommitDetailsOptions): Promise<CommitJson[]> {
  if (!commits.length) return [];
  const ids = sql`${intArrayLiteral(commits.map((c) => c.commitId))}::int[]`;
  return assembleDetails(db, commits, await readBatch(db, detailsQueries(ids, options)), options);
}
