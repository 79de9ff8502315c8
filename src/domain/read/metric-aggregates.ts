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
 * `outputs_batch_summary` index (an index-only scan), never the outputs' rows.
 * Only the metrics the project defines (`qatools_metrics.available_metrics`, what the web app asks
 * for) are cached: any other name is computed and forgotten, so reads can't grow the table.
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

async function cachedAggregates(db: Db, batchIds: number[], metrics: string[]) {
  return queryRows<AggregateRow>(
    db,
    sql`SELECT batch_id, metric, outputs_fingerprint, median, average FROM batch_metric_aggregates
    WHERE batch_id = ANY(${intArrayLiteral(batchIds)}::int[])
      AND metric IN (SELECT jsonb_array_elements_text(${JSON.stringify(metrics)}::jsonb))`,
  );
}

/** Computes the aggregates of `batchIds`; with `store`, keeps them with the fingerprint seen in the same snapshot. */
async function computeAggregates(db: Db, batchIds: number[], metrics: string[], store: boolean): Promise<AggregateRow[]> {
  const columns = metrics.map(
    (name, i) => sql`,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY ${metricValue(name)}) FILTER (WHERE ${VALID}) AS ${sql.raw(`m${i}_median`)},
      avg(${metricValue(name)}) FILTER (WHERE ${VALID}) AS ${sql.raw(`m${i}_average`)}`,
  );
  const rows = await queryRows<Record<string, number | string | null>>(
    db,
    sql`SELECT b.id AS batch_id, ${OUTPUTS_FINGERPRINT} AS outputs_fingerprint ${sql.join(columns)}
    FROM batches b LEFT JOIN outputs o ON o.batch_id = b.id
    WHERE b.id = ANY(${intArrayLiteral(batchIds)}::int[])
    GROUP BY b.id`,
  );
  const computed = rows.flatMap((row) =>
    metrics.map((metric, i) => ({
      batch_id: Number(row.batch_id),
      metric,
      outputs_fingerprint: String(row.outputs_fingerprint),
      median: row[`m${i}_median`] === null ? null : Number(row[`m${i}_median`]),
      average: row[`m${i}_average`] === null ? null : Number(row[`m${i}_average`]),
    })),
  );
  if (!store || !computed.length) return computed;
  await db.execute(sql`
    INSERT INTO batch_metric_aggregates (batch_id, metric, outputs_fingerprint, median, average)
    SELECT batch_id, metric, outputs_fingerprint, median, average
    FROM jsonb_to_recordset(${JSON.stringify(computed)}::jsonb)
      AS x(batch_id int, metric text, outputs_fingerprint text, median float8, average float8)
    ON CONFLICT (batch_id, metric) DO UPDATE SET
      outputs_fingerprint = EXCLUDED.outputs_fingerprint, median = EXCLUDED.median, average = EXCLUDED.average`);
  return computed;
}

/**
 * `{metric}_median` / `{metric}_average` for each batch, given each batch's current outputs
 * fingerprint; a metric without values in a batch is absent, as in the original.
 * `definedMetrics` are the project's metric names: only they are cached.
 */
export async function aggregatedMetrics(
  db: Db,
  batches: { id: number; outputsFingerprint: string }[],
  metrics: string[],
  definedMetrics: ReadonlySet<string>,
): Promise<Map<number, Record<string, number>>> {
  const result = new Map(batches.map((b) => [b.id, {} as Record<string, number>]));
  if (!metrics.length || !batches.length) return result;
  const fingerprints = new Map(batches.map((b) => [b.id, b.outputsFingerprint]));
  const batchIds = [...fingerprints.keys()];
  const cacheable = metrics.filter((m) => definedMetrics.has(m));
  const uncacheable = metrics.filter((m) => !definedMetrics.has(m));
  const fresh = cacheable.length
    ? (await cachedAggregates(db, batchIds, cacheable)).filter((row) => fingerprints.get(row.batch_id) === row.outputs_fingerprint)
    : [];
  const freshPerBatch = new Map<number, number>();
  for (const row of fresh) freshPerBatch.set(row.batch_id, (freshPerBatch.get(row.batch_id) ?? 0) + 1);
  const stale = cacheable.length ? batchIds.filter((id) => freshPerBatch.get(id) !== cacheable.length) : [];
  const rows = [
    ...fresh,
    ...(stale.length ? await computeAggregates(db, stale, cacheable, true) : []),
    ...(uncacheable.length ? await computeAggregates(db, batchIds, uncacheable, false) : []),
  ];
  for (const row of rows) {
    const aggregated = result.get(row.batch_id)!;
    if (row.median !== null) aggregated[`${row.metric}_median`] = row.median;
    if (row.average !== null) aggregated[`${row.metric}_average`] = row.average;
  }
  return result;
}

/** The metric names a project defines (its metrics file's `available_metrics`). */
export const definedMetricNames = (projectData: Record<string, unknown>): Set<string> => new Set(metricDefinitions(projectData).keys());
