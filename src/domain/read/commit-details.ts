/**
 * Commits as the v1 API shows them: with their batches, each batch's output counts and aggregated
 * metrics (computed in SQL), and optionally every output. Loads any number of commits with a
 * handful of queries, whatever their number.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, preparedRows, type Db } from '../../db/client';
import { batchColumns, type BatchRow, type CommitRow } from '../rows';
import type { StorageMode } from '../storage-locations';
import { commitJson, OUTPUT_JSON_SQL, type BatchSummary, type CommitJson, type OutputOfBatch } from '../v1-json';
import { aggregateColumns, aggregatedMetrics, aggregatesOfRow, cachedAggregatesOf, definedMetricNames, OUTPUTS_FINGERPRINT, type MetricAggregate } from './metric-aggregates';

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

/**
 * The batches of the commits, each with its output counts and aggregated metrics, in one statement:
 * the counts and the outputs' fingerprint from the `outputs_batch_summary` index, the cached
 * aggregates still exact for that fingerprint, and the metrics that aren't cached computed there
 * and then. Only batches whose cache is incomplete take a second statement (computed and stored).
 * The outputs are read per batch (LATERAL), by index whatever the planner thinks of the batches'
 * sizes: a join over a million outputs was planned as a sequential scan.
 */
async function batchSummaries(db: Db, commitIds: number[], definedMetrics: ReadonlySet<string>, options: CommitDetailsOptions) {
  const cacheable = options.metrics.filter((m) => definedMetrics.has(m));
  const uncacheable = options.metrics.filter((m) => !definedMetrics.has(m));
  const labelFilter: SQL = options.batchLabel === undefined ? sql`` : sql`AND b.label = ${options.batchLabel}`;
  const rows = await preparedRows<BatchCountsRow & Record<string, unknown>>(
    db,
    sql`SELECT s.*, ${cacheable.length ? cachedAggregatesOf(cacheable) : sql`NULL`} AS cached
    FROM (
      SELECT ${batchColumns}, b.created_date AS created_order, o.*
      FROM batches b CROSS JOIN LATERAL (
        SELECT
          count(*) FILTER (WHERE NOT o.is_failed AND NOT o.is_pending)::int AS valid_outputs,
          count(*) FILTER (WHERE o.is_pending)::int AS pending_outputs,
          count(*) FILTER (WHERE o.is_running)::int AS running_outputs,
          count(*) FILTER (WHERE o.is_failed)::int AS failed_outputs,
          count(*) FILTER (WHERE o.deleted)::int AS deleted_outputs,
          ${OUTPUTS_FINGERPRINT} AS outputs_fingerprint ${aggregateColumns(uncacheable, 'u')}
        FROM outputs o WHERE o.batch_id = b.id) o
      WHERE b.ci_commit_id = ANY(${intArrayLiteral(commitIds)}::int[]) ${labelFilter}) s
    ORDER BY s.created_order, s.id`,
  );
  const aggregates = await aggregatedMetrics(
    db,
    rows.map((row) => ({ id: row.id, found: [...(row.cached ?? []), ...aggregatesOfRow(row, uncacheable, 'u')] })),
    cacheable,
  );
  return rows.map(({ valid_outputs, pending_outputs, running_outputs, failed_outputs, deleted_outputs, ...row }) => {
    const summary: BatchSummary = {
      valid_outputs,
      pending_outputs,
      running_outputs,
      failed_outputs,
      deleted_outputs,
      aggregated_metrics: aggregates.get(row.id)!,
    };
    return { row: row as BatchRow, summary };
  });
}

/** The outputs of batches, their JSON written by Postgres (OUTPUT_JSON_SQL), in id order. */
async function outputsOfBatches(db: Db, batchIds: number[]) {
  const byBatch = new Map<number, OutputOfBatch[]>(batchIds.map((id) => [id, []]));
  if (!batchIds.length) return byBatch;
  const rows = await preparedRows<OutputOfBatch>(
    db,
    // What `outputDirUrl` derives a folder from, only when it must (an output without a folder of its own).
    sql`SELECT o.id, o.batch_id AS "batchId", o.output_dir_override AS "outputDirOverride",
      ${OUTPUT_HEAD} AS head, ${OUTPUT_TAIL} AS tail,
      CASE WHEN o.output_dir_override IS NULL THEN o.platform END AS platform,
      CASE WHEN o.output_dir_override IS NULL THEN o.configurations END AS configurations,
      CASE WHEN o.output_dir_override IS NULL THEN o.extra_parameters END AS "extraParameters",
      CASE WHEN o.output_dir_override IS NULL THEN t.path END AS "testInputPath"
    FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
    WHERE o.batch_id = ANY(${intArrayLiteral(batchIds)}::int[])
    ORDER BY o.id`,
  );
  for (const row of rows) byBatch.get(row.batchId)!.push(row);
  return byBatch;
}

export async function commitDetails(db: Db, commits: CommitRow[], options: CommitDetailsOptions): Promise<CommitJson[]> {
  if (!commits.length) return [];
  // Every commit shown together belongs to one project.
  const definedMetrics = definedMetricNames(commits[0]!.projectData);
  const batches = await batchSummaries(db, commits.map((c) => c.commitId), definedMetrics, options);
  const outputs = options.withOutputs ? await outputsOfBatches(db, batches.map((b) => b.row.id)) : undefined;
  const batchesOfCommit = new Map<number, Parameters<typeof commitJson>[1]>(commits.map((c) => [c.commitId, []]));
  for (const batch of batches) batchesOfCommit.get(batch.row.ciCommitId)!.push({ ...batch, outputs: outputs?.get(batch.row.id) });
  return commits.map((commit) => commitJson(commit, batchesOfCommit.get(commit.commitId)!, options.defaultStorage));
}
