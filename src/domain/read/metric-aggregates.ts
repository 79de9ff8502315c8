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
 * `outputs_batch_summary` index (an index-only scan), never the outputs' rows — unless metrics that
 * aren't cached are asked for: only the metrics the project defines
 * (`qatools_metrics.available_metrics`, what the web app asks for) are cached; any other name is
 * computed with the counts (read/commit-details.ts) and forgotten, so reads can't grow the table.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';
import { metricDefinitions } from '../projects/metric-definitions';

/** SQL: the fingerprint of the outputs `o` of a batch, as aggregated over `o`. */
export const OUTPUTS_FINGERPRINT = sql.raw(`count(o.batch_id) || ':' || COALESCE(sum(extract(epoch FROM o.updated_at)), 0)`);

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
 * SQL: `, <prefix>_median_<i>, <prefix>_average_<i>` of each of `metrics`, aggregated over the outputs `o`
 * of a batch; `aggregatesOfRow` reads them back.
 */
export const aggregateColumns = (metrics: string[], prefix: string) =>
  sql.join(
    metrics.map(
      (name, i) => sql`,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY ${metricValue(name)}) FILTER (WHERE ${VALID}) AS ${sql.raw(`${prefix}_median_${i}`)},
      avg(${metricValue(name)}) FILTER (WHERE ${VALID}) AS ${sql.raw(`${prefix}_average_${i}`)}`,
    ),
  );

/** The aggregates of `metrics` in a row with `aggregateColumns(metrics, prefix)`. */
export const aggregatesOfRow = (row: Record<string, unknown>, metrics: string[], prefix: string) =>
  metrics.map((metric, i) => {
    const median = row[`${prefix}_median_${i}`];
    const average = row[`${prefix}_average_${i}`];
    return { metric, median: median === null ? null : Number(median), average: average === null ? null : Number(average) };
  });

/** Computes the aggregates of `batchIds`; keeps those of the `stored` metrics with the fingerprint seen in the same snapshot. */
async function computeAggregates(db: Db, batchIds: number[], metrics: string[], stored: ReadonlySet<string>): Promise<AggregateRow[]> {
  const rows = await queryRows<Record<string, number | string | null>>(
    db,
    sql`SELECT b.id AS batch_id, o.*
    FROM batches b CROSS JOIN LATERAL (
      SELECT ${OUTPUTS_FINGERPRINT} AS outputs_fingerprint ${aggregateColumns(metrics, 'm')} FROM outputs o WHERE o.batch_id = b.id) o
    WHERE b.id = ANY(${intArrayLiteral(batchIds)}::int[])`,
  );
  const computed = rows.flatMap((row) =>
    aggregatesOfRow(row, metrics, 'm').map((aggregate) => ({
      batch_id: Number(row.batch_id),
      outputs_fingerprint: String(row.outputs_fingerprint),
      ...aggregate,
    })),
  );
  const kept = computed.filter((row) => stored.has(row.metric));
  if (!kept.length) return computed;
  await db.execute(sql`
    INSERT INTO batch_metric_aggregates (batch_id, metric, outputs_fingerprint, median, average)
    SELECT batch_id, metric, outputs_fingerprint, median, average
    FROM jsonb_to_recordset(${JSON.stringify(kept)}::jsonb)
      AS x(batch_id int, metric text, outputs_fingerprint text, median float8, average float8)
    ON CONFLICT (batch_id, metric) DO UPDATE SET
      outputs_fingerprint = EXCLUDED.outputs_fingerprint, median = EXCLUDED.median, average = EXCLUDED.average`);
  return computed;
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
 * `{metric}_median` / `{metric}_average` for each batch, from what the batches' read found: the
 * fresh cached aggregates of the `cached` metrics, and the others, computed in the same statement.
 * Batches missing one of the `cached` metrics are computed now, and stored for the metrics the
 * project defines (`defined`: only those, so that reads can't grow the table). A metric without
 * values in a batch is absent, as in the original.
 */
export async function aggregatedMetrics(
  db: Db,
  batches: { id: number; found: MetricAggregate[] }[],
  cached: string[],
  defined: ReadonlySet<string>,
): Promise<Map<number, Record<string, number>>> {
  const stale = batches.filter((b) => cached.some((metric) => !b.found.some((row) => row.metric === metric))).map((b) => b.id);
  const rows: (MetricAggregate & { batch_id: number })[] = batches.flatMap((b) => b.found.map((row) => ({ ...row, batch_id: b.id })));
  if (stale.length) rows.push(...(await computeAggregates(db, stale, cached, defined)));
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
