/** The JSON shapes of comparisons and verdicts (snake_case, as the v1 API), and the verdict's summary of a comparison. */
import type { OutputState } from './paired-outputs';
import type { Reference } from './reference';
import type { Verdict } from './regression-rules';
import type { Tolerance } from './statistics';
import type { MetricStatus, OutputCounts } from './verdict';

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
