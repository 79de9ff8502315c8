/**
 * The pairing behind a comparison, in one SQL statement: the outputs of two batches matched on
 * what identifies a run — the test input's (database, path), platform, configurations and
 * extra_parameters (not the input's id: inputs are per project, and a reference may be a
 * milestone of another project) — each with the values of the metrics compared. The statistics
 * are computed from them by `compareMetric` (statistics.ts).
 *
 * Measured on 10,000 pairs × 5 metrics (Postgres CPU per statement, scripts/bench-compare.ts):
 * - aggregating each metric's values into arrays with an ordered `json_agg` per metric and side
 *   took ~1.5× as long as sending each pair's values once (every ordered aggregate sorts apart);
 *   unordered, one `json_agg` per column (all fed the same rows, so aligned) is the cheapest:
 *   ~60 ms against ~100 ms for one JSON array per pair, and half the parsing in Node;
 * - each metric's JSON value is looked up once and sent as is: typing it in SQL
 *   (`jsonb_typeof`, then `->>` and a cast to float8) cost two lookups and a conversion each, a
 *   third of the statement. JSON numbers parse to the same doubles as the cast gave.
 */
import { sql } from 'drizzle-orm';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';

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

interface PairColumns {
  new_ids: (number | null)[] | null;
  ref_ids: (number | null)[] | null;
  new_states: (OutputState | null)[] | null;
  ref_states: (OutputState | null)[] | null;
  /** Per metric (in the order asked), per pair: its JSON value in `outputs.metrics`. */
  new_values: unknown[][];
  ref_values: unknown[][];
}

/** The runs of a batch, with the JSON value of each of `metrics` as `m0`, `m1`… */
const runsOf = (batchId: number | null, metrics: string[]) => sql`
  SELECT o.id, t.database, t.path, o.platform, o.configurations, o.extra_parameters,
    CASE WHEN o.is_pending THEN 'pending' WHEN o.is_failed THEN 'failed' ELSE 'valid' END AS state
    ${sql.join(metrics.map((name, m) => sql`, o.metrics -> ${name} AS ${sql.raw(`m${m}`)}`))}
  FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
  WHERE o.batch_id = ${batchId}`;

/** One `json_agg` per metric of a side, as a JSON array (no metric: an empty one). */
const valueColumns = (side: 'n' | 'r', metrics: string[]) =>
  sql`json_build_array(${sql.join(metrics.map((_, m) => sql.raw(`json_agg(${side}.m${m})`)), sql`, `)})`;

/** A metric's value as a number: booleans count as 0/1; anything else (or a number beyond doubles) is no value. */
const metricNumber = (value: unknown): number | null =>
  typeof value === 'number' ? (Number.isFinite(value) ? value : null) : typeof value === 'boolean' ? Number(value) : null;

const compareIds = (a: number | null, b: number | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a - b);

/**
 * Pairs the outputs of `newBatchId` with those of `refBatchId` (none: every run is missing in the
 * reference). What identifies each run is only read for the runs shown (`runIdentities`): at
 * 10,000 pairs, sending it for every pair cost a third of the statement. The pairs are sorted
 * here, not in SQL: each ordered aggregate would sort apart.
 */
export async function pairedOutputs(db: Db, newBatchId: number, refBatchId: number | null, metrics: string[]): Promise<PairedOutputs> {
  const [row] = await queryRows<PairColumns>(
    db,
    sql`WITH n AS (${runsOf(newBatchId, metrics)}), r AS (${runsOf(refBatchId, metrics)})
    SELECT json_agg(n.id) AS new_ids, json_agg(r.id) AS ref_ids, json_agg(n.state) AS new_states, json_agg(r.state) AS ref_states,
      ${valueColumns('n', metrics)} AS new_values, ${valueColumns('r', metrics)} AS ref_values
    FROM n FULL JOIN r
      ON n.database = r.database AND n.path = r.path AND n.platform = r.platform
      AND n.configurations = r.configurations AND n.extra_parameters = r.extra_parameters`,
  );
  const newIds = row?.new_ids ?? [];
  const refIds = row?.ref_ids ?? [];
  const order = newIds.map((_, k) => k).sort((a, b) => compareIds(newIds[a]!, newIds[b]!) || compareIds(refIds[a]!, refIds[b]!));
  const pairs: OutputPair[] = order.map((k) => ({
    newOutputId: newIds[k]!,
    refOutputId: refIds[k]!,
    newState: row!.new_states![k] ?? 'missing',
    refState: row!.ref_states![k] ?? 'missing',
  }));
  return {
    pairs,
    metrics: metrics.map((name, m) => {
      const metric: PairedMetric = { name, newValues: 0, refValues: 0, pairIndexes: [], newValue: [], refValue: [] };
      const [newColumn, refColumn] = [row?.new_values[m] ?? [], row?.ref_values[m] ?? []];
      order.forEach((k, i) => {
        const newValue = pairs[i]!.newState === 'valid' ? metricNumber(newColumn[k]) : null;
        const refValue = pairs[i]!.refState === 'valid' ? metricNumber(refColumn[k]) : null;
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
