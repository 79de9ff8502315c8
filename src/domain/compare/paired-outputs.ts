/**
 * The pairing behind a comparison, in one SQL statement: the outputs of two batches matched on
 * what identifies a run — the test input's (database, path), platform, configurations and
 * extra_parameters (not the input's id: inputs are per project, and a reference may be a
 * milestone of another project) — each with the values of the metrics compared (numbers; booleans
 * as 0/1), in one JSON document. The statistics are computed from them by `compareMetric`
 * (statistics.ts).
 *
 * Measured on 10,000 pairs × 5 metrics: aggregating each metric's values into arrays in SQL
 * (ordered `json_agg` per metric and side) took ~1.5× as long as sending each pair's values once,
 * and the medians and means SQL could add are what `compareMetric` computes anyway.
 */
import { sql } from 'drizzle-orm';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';
import { metricValueIn } from '../read/metric-aggregates';

type Json = Record<string, unknown>;

/** An output's part in a comparison: `valid` (neither failed nor pending), or why it can't be compared. */
export type OutputState = 'valid' | 'failed' | 'pending' | 'missing';

export interface RunIdentity {
  database: string;
  path: string;
  platform: string;
  configurations: unknown[];
  extraParameters: Json;
}

/** A run of either batch: its output on each side, if any. */
export interface OutputPair {
  newOutputId: number | null;
  refOutputId: number | null;
  newState: OutputState;
  refState: OutputState;
}

export interface PairedMetric {
  name: string;
  /** Valid outputs that report the metric, on each side. */
  newValues: number;
  refValues: number;
  /** Indexes (into `pairs`) of the pairs where both sides are valid and report the metric, and their values. */
  pairIndexes: number[];
  newValue: number[];
  refValue: number[];
}

export interface PairedOutputs {
  /** Every run of either batch, by output id (this batch's, then the reference's for runs missing here). */
  pairs: OutputPair[];
  /** In the order asked. */
  metrics: PairedMetric[];
}

type MetricValues = (number | null)[] | null;
type PairTuple = [number | null, number | null, OutputState, OutputState, MetricValues, MetricValues];

/** The runs of a batch, with the values of `metrics` (in order) extracted as a narrow float8[] before the join. */
const runsOf = (batchId: number | null, metrics: string[]) => sql`
  SELECT o.id, t.database, t.path, o.platform, o.configurations, o.extra_parameters,
    CASE WHEN o.is_pending THEN 'pending' WHEN o.is_failed THEN 'failed' ELSE 'valid' END AS state,
    ARRAY[${sql.join(metrics.map((name) => metricValueIn(sql.raw('o.metrics'), name)), sql`, `)}]::float8[] AS metric_values
  FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
  WHERE o.batch_id = ${batchId}`;

const compareIds = (a: number | null, b: number | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a - b);
const byOutputIds = (a: PairTuple, b: PairTuple) => compareIds(a[0], b[0]) || compareIds(a[1], b[1]);

/**
 * Pairs the outputs of `newBatchId` with those of `refBatchId` (none: every run is missing in the
 * reference). What identifies each run is only read for the runs shown (`runIdentities`): at
 * 10,000 pairs, sending it for every pair cost a third of the statement. The pairs are sorted
 * here, not by `json_agg(… ORDER BY …)`: Postgres would sort the built JSON values, which spills
 * to disk past `work_mem`.
 */
export async function pairedOutputs(db: Db, newBatchId: number, refBatchId: number | null, metrics: string[]): Promise<PairedOutputs> {
  const [row] = await queryRows<{ pairs: PairTuple[] | null }>(
    db,
    sql`WITH n AS (${runsOf(newBatchId, metrics)}), r AS (${runsOf(refBatchId, metrics)})
    SELECT json_agg(json_build_array(n.id, r.id, coalesce(n.state, 'missing'), coalesce(r.state, 'missing'), n.metric_values, r.metric_values)) AS pairs
    FROM n FULL JOIN r
      ON n.database = r.database AND n.path = r.path AND n.platform = r.platform
      AND n.configurations = r.configurations AND n.extra_parameters = r.extra_parameters`,
  );
  const tuples = (row?.pairs ?? []).sort(byOutputIds);
  const pairs: OutputPair[] = tuples.map(([newOutputId, refOutputId, newState, refState]) => ({ newOutputId, refOutputId, newState, refState }));
  return {
    pairs,
    metrics: metrics.map((name, m) => {
      const metric: PairedMetric = { name, newValues: 0, refValues: 0, pairIndexes: [], newValue: [], refValue: [] };
      tuples.forEach(([, , newState, refState, newValues, refValues], i) => {
        const newValue = newState === 'valid' ? (newValues?.[m] ?? null) : null;
        const refValue = refState === 'valid' ? (refValues?.[m] ?? null) : null;
        if (newValue !== null) metric.newValues++;
        if (refValue !== null) metric.refValues++;
        if (newValue !== null && refValue !== null) {
          metric.pairIndexes.push(i);
          metric.newValue.push(newValue);
          metric.refValue.push(refValue);
        }
      });
      return metric;
    }),
  };
}

/** What identifies the runs of these outputs: their test input, platform, configurations, extra_parameters. */
export async function runIdentities(db: Db, outputIds: number[]): Promise<Map<number, RunIdentity>> {
  if (!outputIds.length) return new Map();
  const rows = await queryRows<RunIdentity & { id: number }>(
    db,
    sql`SELECT o.id, t.database, t.path, o.platform, o.configurations, o.extra_parameters AS "extraParameters"
    FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
    WHERE o.id = ANY(${intArrayLiteral(outputIds)}::int[])`,
  );
  return new Map(rows.map(({ id, ...run }) => [id, run]));
}
