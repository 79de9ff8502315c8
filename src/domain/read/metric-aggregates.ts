/**
 * Aggregated metrics of batches: for each requested metric, its median and average over the
 * batch's valid outputs (neither failed nor pending), computed in SQL.
 *
 * Extracting values from every output's JSONB metrics is the expensive part of the commit list
 * (~20 ms per metric per 40,000 outputs here), and finished batches never change, so results are
 * kept in `batch_metric_aggregates` with a fingerprint of the batch's outputs: their count and
 * the sum of their `updated_at` (every change of an output moves it forward). Any insert, update
 * or delete of an output changes the fingerprint, so a cached value is used only while it is
 * exact; otherwise it is recomputed and stored again. The fingerprint and the counts read only the
 * `outputs_batch_summary` index (an index-only scan); the outputs' rows are read only to compute
 * what the cache misses.
 *
 * What is stored: the aggregates of the metrics the project defines
 * (`qatools_metrics.available_metrics`, what the web app asks for), and of any other metric the
 * batch's valid outputs have values of (projects whose metrics file doesn't list everything they
 * record). A name no valid output has a value of is computed on every read that asks for it (alone:
 * what is cached isn't computed again) and never stored, so reads can't grow the table past what
 * uploads hold.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';
import { metricDefinitions } from '../projects/metric-definitions';
import { updatedAtSum } from '../updated-at';

/** SQL: the fingerprint of the outputs `o` of a batch, as aggregated over `o`. */
export const OUTPUTS_FINGERPRINT = sql.raw(`count(o.batch_id) || ':' || ${updatedAtSum('o.updated_at')}`);

const VALID = sql.raw('NOT o.is_failed AND NOT o.is_pending');

/**
 * SQL: the numeric value of metric `name` in the JSONB `metrics`; booleans count as 0/1 (the
 * original aggregated them with numpy); anything else is NULL.
 */
export const metricValueIn = (metrics: SQL, name: SQL | string) => sql`CASE jsonb_typeof(${metrics} -> ${name})
  WHEN 'number' THEN (${metrics} ->> ${name})::float8
  WHEN 'boolean' THEN (${metrics} ->> ${name})::boolean::int::float8 END`;

const metricValue = (name: string) => metricValueIn(sql.raw('o.metrics'), name);

interface AggregateRow {
  batch_id: number;
  metric: string;
  outputs_fingerprint: string;
  median: number | null;
  average: number | null;
}

/**
 * SQL: `, median_<i>, average_<i>` of each of `metrics`, aggregated over the outputs `o` of a
 * batch; `aggregatesOfRow` reads them back.
 */
const aggregateColumns = (metrics: string[]) =>
  sql.join(
    metrics.map(
      (name, i) => sql`,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY ${metricValue(name)}) FILTER (WHERE ${VALID}) AS ${sql.raw(`median_${i}`)},
      avg(${metricValue(name)}) FILTER (WHERE ${VALID}) AS ${sql.raw(`average_${i}`)}`,
    ),
  );

/** The aggregates of `metrics` in a row with `aggregateColumns(metrics)`. */
const aggregatesOfRow = (row: Record<string, unknown>, metrics: string[]) =>
  metrics.map((metric, i) => {
    const median = row[`median_${i}`];
    const average = row[`average_${i}`];
    return { metric, median: median === null ? null : Number(median), average: average === null ? null : Number(average) };
  });

/** Whether a computed aggregate is kept (see the rule at the top). */
const isKept = (row: AggregateRow, defined: ReadonlySet<string>) => defined.has(row.metric) || row.median !== null || row.average !== null;

/** Computes the aggregates of `metrics` in `batchIds`, each with its batch's fingerprint seen in the same snapshot. */
async function computeAggregates(db: Db, batchIds: number[], metrics: string[]): Promise<AggregateRow[]> {
  const rows = await queryRows<Record<string, number | string | null>>(
    db,
    sql`SELECT b.id AS batch_id, o.*
    FROM batches b CROSS JOIN LATERAL (
      SELECT ${OUTPUTS_FINGERPRINT} AS outputs_fingerprint ${aggregateColumns(metrics)} FROM outputs o WHERE o.batch_id = b.id) o
    WHERE b.id = ANY(${intArrayLiteral(batchIds)}::int[])`,
  );
  return rows.flatMap((row) =>
    aggregatesOfRow(row, metrics).map((aggregate) => ({
      batch_id: Number(row.batch_id),
      outputs_fingerprint: String(row.outputs_fingerprint),
      ...aggregate,
    })),
  );
}

/**
 * Stores computed aggregates. Concurrent reads store the same rows: each statement locks them in one
 * order (batch, metric), so that two can't deadlock (they did, as 500s, when each went in its
 * request's order), and a row already holding the fingerprint is left as it is.
 */
async function storeAggregates(db: Db, rows: AggregateRow[]) {
  if (!rows.length) return;
  await db.execute(sql`
    INSERT INTO batch_metric_aggregates AS a (batch_id, metric, outputs_fingerprint, median, average)
    SELECT batch_id, metric, outputs_fingerprint, median, average
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      AS x(batch_id int, metric text, outputs_fingerprint text, median float8, average float8)
    ORDER BY batch_id, metric
    ON CONFLICT (batch_id, metric) DO UPDATE SET
      outputs_fingerprint = EXCLUDED.outputs_fingerprint, median = EXCLUDED.median, average = EXCLUDED.average
    WHERE a.outputs_fingerprint IS DISTINCT FROM EXCLUDED.outputs_fingerprint`);
}

/** A metric's aggregates in one batch; null when no valid output has a value. */
export interface MetricAggregate {
  metric: string;
  median: number | null;
  average: number | null;
}

/** SQL: the cached aggregates of `metrics` still exact for batch `s` (its `id` and current `outputs_fingerprint`), a JSON array of MetricAggregate. */
export const cachedAggregatesOf = (metrics: string[]) => sql`(SELECT json_agg(json_build_object('metric', a.metric, 'median', a.median, 'average', a.average))
    FROM batch_metric_aggregates a
    WHERE a.batch_id = s.id AND a.outputs_fingerprint = s.outputs_fingerprint
      AND a.metric IN (SELECT jsonb_array_elements_text(${JSON.stringify(metrics)}::jsonb)))`;

/**
 * `{metric}_median` / `{metric}_average` of `metrics` for each batch, from the fresh cached
 * aggregates the batches' read found. What is missing is computed now (only the missing metrics,
 * only in the batches missing them), and stored as `isKept` says (`defined`: the metrics the project
 * defines). A metric without values in a batch is absent, as in the original.
 */
export async function aggregatedMetrics(
  db: Db,
  batches: { id: number; found: MetricAggregate[] }[],
  metrics: string[],
  defined: ReadonlySet<string>,
): Promise<Map<number, Record<string, number>>> {
  const found = new Map(batches.map((b) => [b.id, new Set(b.found.map((row) => row.metric))]));
  const isMissing = (batchId: number, metric: string) => !found.get(batchId)!.has(metric);
  const rows: (MetricAggregate & { batch_id: number })[] = batches.flatMap((b) => b.found.map((row) => ({ ...row, batch_id: b.id })));
  const stale = batches.filter((b) => metrics.some((metric) => isMissing(b.id, metric))).map((b) => b.id);
  if (stale.length) {
    const missingMetrics = metrics.filter((metric) => stale.some((id) => isMissing(id, metric)));
    const computed = (await computeAggregates(db, stale, missingMetrics)).filter((row) => isMissing(row.batch_id, row.metric));
    await storeAggregates(db, computed.filter((row) => isKept(row, defined)));
    rows.push(...computed);
  }
  const result = new Map(batches.map((b) => [b.id, {} as Record<string, number>]));
  for (const row of rows) {
    const aggregated = result.get(row.batch_id)!;
    if (row.median !== null) aggregated[`${row.metric}_median`] = row.median;
    if (row.average !== null) aggregated[`${row.metric}_average`] = row.average;
  }
  return result;
}

/** The metric names a project defines (its metrics file's `available_metrics`). */
export const definedMetricNames = (projectData: Record<string, unknown>): Set<string> => new Set(metricDefinitions(projectData).keys());
