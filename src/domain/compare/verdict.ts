/**
 * The rules that turn per-metric statistics into a verdict (pure functions).
 *
 * A metric REGRESSED when both paired tests say the change leans towards worse at the per-metric
 * level α/k (Bonferroni over the k metrics compared, so that the chance of a false alarm on any
 * of them stays ≤ `significance`):
 * - the sign test counts only the inputs that moved beyond the tolerance: it carries the SIZE of
 *   the change — moves within tolerance never make a regression, however consistent;
 * - the Wilcoxon signed-rank test, on the raw differences, carries their CONSISTENCY and magnitude
 *   ranks — a few large moves against many small opposite ones don't make one either.
 * Requiring both is an intersection–union test: its level is still α/k, and its p-value is the
 * larger of the two. IMPROVED is the same in the other direction.
 *
 * The verdict: `regressed` when any metric regressed; otherwise `incomplete` when something could
 * not be compared (no reference, outputs of this batch failed or still pending, inputs of the
 * reference missing here, a metric with fewer than `min_pairs` paired inputs, or no metric at all);
 * otherwise `improved` when any metric improved; otherwise `pass`.
 */
import type { Verdict } from './regression-rules';
import type { MetricComparison } from './statistics';

/**
 * - `absent`: no input has the metric on both sides (not produced by these runs): not compared.
 * - `insufficient`: fewer paired inputs than `min_pairs`: no conclusion, the verdict is `incomplete`.
 */
export type MetricStatus = 'regressed' | 'improved' | 'unchanged' | 'insufficient' | 'absent';

/** p-values of the intersection–union tests (both paired tests must reject). */
export const regressionPValue = (c: MetricComparison) => Math.max(c.signTest.pValue.regression, c.signedRank.pValue.regression);
export const improvementPValue = (c: MetricComparison) => Math.max(c.signTest.pValue.improvement, c.signedRank.pValue.improvement);

/** Metrics with enough pairs to be tested: they share the significance level. */
export const isTested = (comparison: MetricComparison, minPairs: number) => comparison.pairs >= minPairs;

export function metricStatus(comparison: MetricComparison, minPairs: number, alpha: number): MetricStatus {
  if (comparison.pairs === 0) return 'absent';
  if (!isTested(comparison, minPairs)) return 'insufficient';
  if (regressionPValue(comparison) < alpha) return 'regressed';
  if (improvementPValue(comparison) < alpha) return 'improved';
  return 'unchanged';
}

export interface OutputCounts {
  /** Runs where both outputs are valid. */
  paired: number;
  missing_in_new: number;
  missing_in_reference: number;
  failed_in_new: number;
  failed_in_reference: number;
  pending_in_new: number;
  pending_in_reference: number;
}

export interface DecidedMetric {
  name: string;
  status: MetricStatus;
  comparison: MetricComparison;
  /** Formats a delta in the metric's display unit. */
  formatDelta(delta: number | null): string;
}

const formatP = (p: number) => (p < 1e-4 ? p.toExponential(1) : p.toPrecision(2));
const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

function movement(metric: DecidedMetric, direction: 'regressed' | 'improved'): string {
  const c = metric.comparison;
  const [moved, against] = direction === 'regressed' ? [c.regressed, c.improved] : [c.improved, c.regressed];
  const p = direction === 'regressed' ? regressionPValue(c) : improvementPValue(c);
  return `${metric.name} ${direction}: ${direction === 'regressed' ? 'worse' : 'better'} on ${moved} of ${c.pairs} inputs, ` +
    `${direction === 'regressed' ? 'better' : 'worse'} on ${against} (median Δ ${metric.formatDelta(c.medianDelta)}, p = ${formatP(p)})`;
}

export interface VerdictInput {
  metrics: DecidedMetric[];
  counts: OutputCounts;
  /** Why there is no reference, when there is none. */
  missingReference?: string;
  minPairs: number;
}

export function decideVerdict({ metrics, counts, missingReference, minPairs }: VerdictInput): { verdict: Verdict; reasons: string[] } {
  const regressed = metrics.filter((m) => m.status === 'regressed');
  const improved = metrics.filter((m) => m.status === 'improved');
  const incomplete: string[] = [];
  if (missingReference) incomplete.push(`no reference: ${missingReference}`);
  if (counts.pending_in_new) incomplete.push(`${plural(counts.pending_in_new, 'output')} of this batch still pending`);
  if (counts.failed_in_new) incomplete.push(`${plural(counts.failed_in_new, 'output')} of this batch failed`);
  if (counts.pending_in_reference) incomplete.push(`${plural(counts.pending_in_reference, 'output')} of the reference still pending`);
  if (!missingReference && counts.missing_in_new) incomplete.push(`${plural(counts.missing_in_new, 'input')} of the reference missing from this batch`);
  for (const metric of metrics.filter((m) => m.status === 'insufficient')) {
    incomplete.push(`${metric.name}: only ${plural(metric.comparison.pairs, 'paired input')} (min_pairs: ${minPairs})`);
  }
  if (!missingReference && !metrics.some((m) => m.status !== 'absent')) incomplete.push('no metric could be compared');

  const reasons = [...regressed.map((m) => movement(m, 'regressed')), ...incomplete, ...improved.map((m) => movement(m, 'improved'))];
  const verdict: Verdict = regressed.length ? 'regressed' : incomplete.length ? 'incomplete' : improved.length ? 'improved' : 'pass';
  if (verdict === 'pass') {
    const tested = metrics.filter((m) => m.status === 'unchanged');
    reasons.push(`no significant change on ${plural(tested.length, 'metric')} over ${plural(counts.paired, 'paired input')}`);
  }
  return { verdict, reasons };
}
