/**
 * Statistics of a regression verdict (issue 14): the same inputs run on two commits give, per
 * metric, pairs (new, ref); each pair is classified, and paired tests ask whether the changes lean
 * one way more than chance would. Pure functions: the pairing (SQL) and the verdict live elsewhere.
 *
 * Hand-written, not a library. Candidates measured with `esbuild --bundle --minify --format=esm`
 * of an entry importing only what would be used (sizes minified / gzipped):
 * - @stdlib/stats-wilcoxon 0.2.3: 159 KB / 35 KB, and it computes exact p-values only without
 *   ties or zeros: with tied |d| (common for quantized metrics) it approximates even at n = 6
 *   ([1, −2, 2, 3, 4, 5]: p = 0.115, exact 0.125); it throws when every difference is zero.
 * - @stdlib/stats-base-dists-normal-cdf 0.3.1 + binomial-cdf 0.2.3: 143 KB / 37 KB (normal-cdf
 *   alone 35 KB / 11 KB); still leaves the signed-rank distribution with ties to write.
 * - jstat 1.9.6: 52 KB / 18 KB (one object, not tree-shaken), no signed-rank distribution.
 * - simple-statistics 7.12.1: errorFunction + binomialDistribution 2.4 KB / 1.2 KB, but it gives
 *   erf (the same Chebyshev fit as ours), so 1 − erf loses the small tails (0 beyond z ≈ 8.5); its
 *   binomial table stops once the cumulative passes 1 − 1e-4, cutting off the upper tail (n = 20:
 *   P(X ≥ 18) comes out 1.81e-4, not 2.01e-4); its normal CDF is a 4-digit table; no signed-rank.
 * All would fit the Worker's size limit, but none covers the exact test with ties, and what the
 * sound ones would replace is ~30 lines (distributions.ts: a binomial(n, ½) sum and a 1.2e-7 erfc),
 * against 35–143 KB of code. This folder bundles to 3.0 KB minified (1.5 KB gzipped) and uses no
 * Node API (only Math and Float64Array), so it runs as is in Workers. Correctness rests on the
 * known-answer tests (test/statistics.test.ts): published tables and R/scipy examples, a
 * brute-force enumeration of all sign assignments, and the exact/normal agreement.
 */
import { binomialHalfCdf } from './distributions';
import { signedRankTest, type PValues } from './signed-rank';

/**
 * The k-th smallest of `values` (0-based), which it reorders so that the k smallest come first:
 * Hoare's selection with a median-of-three pivot, O(n) on average — a comparison takes 15
 * medians of 10,000 values, which sorts made a fifth of its CPU time. Past the partitions a
 * balanced run would need, the rest is sorted (so never quadratic).
 */
function selectSmallest(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  for (let partitions = 2 * Math.log2(values.length) + 8; left < right; partitions--) {
    if (partitions < 0) {
      values.subarray(left, right + 1).sort();
      break;
    }
    const [a, b, c] = [values[left]!, values[(left + right) >> 1]!, values[right]!];
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (pivot < values[j]!) j--;
      if (i <= j) {
        [values[i], values[j]] = [values[j]!, values[i]!];
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break; // values[j + 1 .. i − 1] all equal the pivot
  }
  return values[k]!;
}

/**
 * Middle value (mean of the two middle ones for an even count); null when there is none. The same
 * numbers a sort would give, except that −0 and +0 are equal here (a sort puts −0 first): values
 * read from the database are never −0 (Postgres numerics have no negative zero).
 */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const copy = new Float64Array(values);
  const middle = copy.length >> 1;
  const upper = selectSmallest(copy, middle);
  if (copy.length % 2 === 1) return upper;
  let lower = copy[0]!; // the largest of the `middle` smallest, which selection put first
  for (let i = 1; i < middle; i++) if (copy[i]! > lower) lower = copy[i]!;
  return (lower + upper) / 2;
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** How much a metric may move and still count as unchanged; either bound suffices. */
export interface Tolerance {
  /** In the metric's unit. */
  absolute?: number;
  /** As a fraction of |ref| (so no help when ref = 0). */
  relative?: number;
}

export interface MetricRule {
  smallerIsBetter: boolean;
  tolerance?: Tolerance;
}

export interface PairClassification {
  outcome: 'better' | 'worse' | 'same';
  /** new − ref */
  delta: number;
  /** delta / |ref| (its sign is the delta's); 0 when both are 0, null when only ref is. */
  relativeDelta: number | null;
}

export function classifyPair(newValue: number, refValue: number, rule: MetricRule): PairClassification {
  const delta = newValue - refValue;
  const relativeDelta = refValue !== 0 ? delta / Math.abs(refValue) : delta === 0 ? 0 : null;
  const allowed = Math.max(rule.tolerance?.absolute ?? 0, (rule.tolerance?.relative ?? 0) * Math.abs(refValue));
  const outcome = Math.abs(delta) <= allowed ? 'same' : (delta < 0) === rule.smallerIsBetter ? 'better' : 'worse';
  return { outcome, delta, relativeDelta };
}

export interface SignTestResult {
  /** Pairs that moved (positives + negatives); the unchanged ones are dropped. */
  n: number;
  positives: number;
  pValue: PValues;
}

/** Exact binomial sign test: under H0 each pair that moved is positive with probability ½. */
export function signTest(positives: number, negatives: number): SignTestResult {
  const n = positives + negatives;
  const greater = binomialHalfCdf(negatives, n); // P(X ≥ positives) = P(X ≤ negatives) by symmetry
  const less = binomialHalfCdf(positives, n);
  return { n, positives, pValue: { twoSided: Math.min(1, 2 * Math.min(greater, less)), greater, less } };
}

/** p-values named after the metric's direction: `regression` is the one-sided test that new is worse. */
export interface DirectionalPValues {
  twoSided: number;
  regression: number;
  improvement: number;
}

export interface MetricComparison {
  pairs: number;
  new: { median: number | null; mean: number | null };
  ref: { median: number | null; mean: number | null };
  /** Median of new − ref over the pairs. */
  medianDelta: number | null;
  regressed: number;
  improved: number;
  unchanged: number;
  /** On the classified pairs: those within tolerance are dropped. */
  signTest: { n: number; pValue: DirectionalPValues };
  /**
   * On the raw differences (only exact zeros dropped): ranking already weighs small moves little,
   * so the tolerance is for the verdict to apply to the size of the change, not to the test.
   * `worseRankSum` is W+ of the differences oriented so that positive means worse.
   */
  signedRank: { method: 'exact' | 'normal'; n: number; zeros: number; worseRankSum: number; pValue: DirectionalPValues };
}

const towardsWorse = ({ twoSided, greater, less }: PValues): DirectionalPValues => ({ twoSided, regression: greater, improvement: less });

/** A metric's values on the paired inputs, as columns: `newValue[i]` and `refValue[i]` are one input's. */
export interface PairedValues {
  newValue: readonly number[];
  refValue: readonly number[];
}

export function compareMetric({ newValue: newValues, refValue: refValues }: PairedValues, rule: MetricRule): MetricComparison {
  const counts = { better: 0, worse: 0, same: 0 };
  const deltas: number[] = [];
  for (let i = 0; i < newValues.length; i++) {
    const { outcome, delta } = classifyPair(newValues[i]!, refValues[i]!, rule);
    counts[outcome]++;
    deltas.push(delta);
  }
  const signs = signTest(counts.worse, counts.better);
  const ranks = signedRankTest(rule.smallerIsBetter ? deltas : deltas.map((delta) => -delta));
  return {
    pairs: newValues.length,
    new: { median: median(newValues), mean: mean(newValues) },
    ref: { median: median(refValues), mean: mean(refValues) },
    medianDelta: median(deltas),
    regressed: counts.worse,
    improved: counts.better,
    unchanged: counts.same,
    signTest: { n: signs.n, pValue: towardsWorse(signs.pValue) },
    signedRank: { method: ranks.method, n: ranks.n, zeros: ranks.zeros, worseRankSum: ranks.wPlus, pValue: towardsWorse(ranks.pValue) },
  };
}
