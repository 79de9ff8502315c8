/**
 * The pairing behind a comparison, in one SQL statement: the outputs of two batches matched on
 * what identifies a run — the test input's (database, path), platform, configurations and
 * extra_parameters (not the input's id: inputs are per project, and a reference may be a
 * milestone of another project) — each with the values of the metrics compared (numbers; booleans
 * as 0/1), in one JSON document sorted by input. The statistics are computed from them by
 * `compareMetric` (statistics.ts).
 *
 * Measured on 10,000 pairs × 5 metrics: aggregating each metric's values into arrays in SQL
 * (ordered `json_agg` per metric and side) took ~1.5× as long as sending each pair's values once,
 * and the medians and means SQL could add are what `compareMetric` computes anyway.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
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

export interface OutputPair extends RunIdentity {
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
  /** Every run of either batch, by input. */
  pairs: OutputPair[];
  /** In the order asked. */
  metrics: PairedMetric[];
}

type MetricValues = (number | null)[] | null;
type PairTuple = [string, string, string, unknown[], Json, number | null, number | null, OutputState, OutputState, MetricValues, MetricValues];

/** The runs of a batch, with the values of `metrics` (in order) extracted as a narrow float8[] before the join. */
const runsOf = (batchId: number | null, metrics: string[]) => sql`
  SELECT o.id, t.database, t.path, o.platform, o.configurations, o.extra_parameters,
    CASE WHEN o.is_pending THEN 'pending' WHEN o.is_failed THEN 'failed' ELSE 'valid' END AS state,
    ARRAY[${sql.join(metrics.map((name) => metricValueIn(sql.raw('o.metrics'), name)), sql`, `)}]::float8[] AS metric_values
  FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
  WHERE o.batch_id = ${batchId}`;

/** Pairs the outputs of `newBatchId` with those of `refBatchId` (none: every run is missing in the reference). */
export async function pairedOutputs(db: Db, newBatchId: number, refBatchId: number | null, metrics: string[]): Promise<PairedOutputs> {
  const [row] = await queryRows<{ pairs: PairTuple[] | null }>(
    db,
    sql`WITH n AS (${runsOf(newBatchId, metrics)}), r AS (${runsOf(refBatchId, metrics)})
    SELECT json_agg(json_build_array(
        coalesce(n.database, r.database), coalesce(n.path, r.path), coalesce(n.platform, r.platform),
        coalesce(n.configurations, r.configurations), coalesce(n.extra_parameters, r.extra_parameters),
        n.id, r.id, coalesce(n.state, 'missing'), coalesce(r.state, 'missing'), n.metric_values, r.metric_values)
      ORDER BY coalesce(n.database, r.database), coalesce(n.path, r.path), n.id, r.id) AS pairs
    FROM n FULL JOIN r
      ON n.database = r.database AND n.path = r.path AND n.platform = r.platform
      AND n.configurations = r.configurations AND n.extra_parameters = r.extra_parameters`,
  );
  const tuples = row?.pairs ?? [];
  const pairs: OutputPair[] = tuples.map(([database, path, platform, configurations, extraParameters, newOutputId, refOutputId, newState, refState]) => ({
    database, path, platform, configurations, extraParameters, newOutputId, refOutputId, newState, refState,
  }));
  return {
    pairs,
    metrics: metrics.map((name, m) => {
      const metric: PairedMetric = { name, newValues: 0, refValues: 0, pairIndexes: [], newValue: [], refValue: [] };
      tuples.forEach((tuple, i) => {
        const newValue = tuple[7] === 'valid' ? (tuple[9]?.[m] ?? null) : null;
        const refValue = tuple[8] === 'valid' ? (tuple[10]?.[m] ?? null) : null;
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
