/** The JSON shapes of comparisons and verdicts (snake_case, as the v1 API): a metric's part, and the verdict's summary of a comparison. */
import type { MetricDefinition } from '../projects/metric-definitions';
import type { OutputState, PairedMetric } from './paired-outputs';
import type { Reference } from './reference';
import type { Verdict } from './regression-rules';
import type { DirectionalPValues, MetricComparison, MetricRule, Tolerance } from './statistics';
import { improvementPValue, regressionPValue, type MetricStatus, type OutputCounts } from './verdict';

type Json = Record<string, unknown>;

export interface RunJson {
  test_input_database: string;
  test_input_path: string;
  platform: string;
  configurations: unknown[];
  extra_parameters: Json;
}

export interface PairMetricJson {
  new: number;
  ref: number;
  delta: number;
  relative_delta: number | null;
  outcome: 'better' | 'worse' | 'same';
}

export interface MetricSummaryJson {
  status: MetricStatus;
  pairs: number;
  regressed: number;
  improved: number;
  median_delta: number | null;
  /** Of the intersection–union tests: the larger p-value of the sign and signed-rank tests. */
  p_regression: number;
  p_improvement: number;
}

export interface DirectionalPValuesJson {
  two_sided: number;
  regression: number;
  improvement: number;
}

export interface MetricComparisonJson extends MetricSummaryJson {
  label: string;
  smaller_is_better: boolean;
  scale: number;
  suffix: string;
  target: number | null;
  tolerance: Tolerance;
  /** Valid outputs reporting the metric on each side (paired or not). */
  new_values: number;
  ref_values: number;
  unchanged: number;
  new: { median: number | null; mean: number | null };
  ref: { median: number | null; mean: number | null };
  sign_test: { n: number; p_value: DirectionalPValuesJson };
  signed_rank: { method: 'exact' | 'normal'; n: number; zeros: number; worse_rank_sum: number; p_value: DirectionalPValuesJson };
}

export type PairsJson = (RunJson & { new_output_id: number; ref_output_id: number; metrics: Record<string, PairMetricJson> })[];

export type WorstRegressionJson = RunJson & { metric: string } & Omit<PairMetricJson, 'outcome'>;

export interface ReferenceJson {
  id: string;
  batch: string;
  branch: string | null;
  resolved_from: Reference['resolvedFrom'];
  requested: string;
}

export interface VerdictJson {
  verdict: Verdict;
  reasons: string[];
  project: string;
  commit: { id: string; batch: string; branch: string | null };
  reference: ReferenceJson | null;
  counts: OutputCounts;
  metrics: Record<string, MetricSummaryJson>;
  worst_regressions: WorstRegressionJson[];
  /** The commit's page in the web app, compared with the reference (null without WEB_APP_URL). */
  url: string | null;
}

export interface ComparisonJson extends Omit<VerdictJson, 'metrics'> {
  rules: { significance: number; per_metric_significance: number; min_pairs: number; fail_on: Verdict[] };
  metrics: Record<string, MetricComparisonJson>;
  /** How many pairs the listing has (`pairs` is a page of them). */
  pairs_total: number;
  pairs: PairsJson;
  unpaired: (RunJson & { new_output_id: number | null; ref_output_id: number | null; new: OutputState; reference: OutputState })[];
}

const pValuesJson = (p: DirectionalPValues): DirectionalPValuesJson => ({ two_sided: p.twoSided, regression: p.regression, improvement: p.improvement });

export function metricComparisonJson(definition: MetricDefinition, rule: MetricRule, status: MetricStatus, c: MetricComparison, values: PairedMetric): MetricComparisonJson {
  return {
    label: definition.label,
    smaller_is_better: definition.smallerIsBetter,
    scale: definition.scale,
    suffix: definition.suffix,
    target: definition.target,
    tolerance: rule.tolerance ?? {},
    status,
    pairs: c.pairs,
    new_values: values.newValues,
    ref_values: values.refValues,
    regressed: c.regressed,
    improved: c.improved,
    unchanged: c.unchanged,
    median_delta: c.medianDelta,
    p_regression: regressionPValue(c),
    p_improvement: improvementPValue(c),
    new: c.new,
    ref: c.ref,
    sign_test: { n: c.signTest.n, p_value: pValuesJson(c.signTest.pValue) },
    signed_rank: { method: c.signedRank.method, n: c.signedRank.n, zeros: c.signedRank.zeros, worse_rank_sum: c.signedRank.worseRankSum, p_value: pValuesJson(c.signedRank.pValue) },
  };
}

/** The small summary of a comparison, for a CI job. */
export function verdictOf({ rules: _, pairs_total: __, pairs: ___, unpaired: ____, metrics, ...summary }: ComparisonJson): VerdictJson {
  return {
    ...summary,
    metrics: Object.fromEntries(
      Object.entries(metrics).map(([name, m]) => [
        name,
        { status: m.status, pairs: m.pairs, regressed: m.regressed, improved: m.improved, median_delta: m.median_delta, p_regression: m.p_regression, p_improvement: m.p_improvement },
      ]),
    ),
  };
}
