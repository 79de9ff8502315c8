/**
 * Every paired value classified against its metric's tolerance (`classifyPair`): which paired
 * inputs a comparison lists (a page of them), and its worst regressions. Tens of thousands of
 * values: one pass that keeps flags and the few worst in a small sorted list; objects are built
 * only for the pairs shown.
 */
import type { PairMetricJson, RunJson } from './comparison-json';
import type { PairedOutputs, RunIdentity } from './paired-outputs';
import { classifyPair, type MetricRule } from './statistics';

/** Which paired inputs a comparison lists: those where some metric moved beyond its tolerance, all, or none. */
export type PairsListed = 'changed' | 'all' | 'none';

export interface PairPage {
  pairs: PairsListed;
  offset: number;
  limit: number;
}

/** No listing: the verdict and the GitLab note only need the statistics and the worst regressions. */
export const NO_PAIRS: PairPage = { pairs: 'none', offset: 0, limit: 0 };

export const runJson = (run: RunIdentity): RunJson => ({
  test_input_database: run.database,
  test_input_path: run.path,
  platform: run.platform,
  configurations: run.configurations,
  extra_parameters: run.extraParameters,
});

/** A paired value classified as worse, by where it is in `PairedOutputs`. */
export interface WorseValue {
  pair: number;
  metric: number;
  /** |relative delta| (a change from 0 counts as the largest), then |delta|: the worst first. */
  size: number;
  absoluteDelta: number;
}

const moreSevere = (a: WorseValue, b: WorseValue) => a.size > b.size || (a.size === b.size && a.absoluteDelta > b.absoluteDelta);

export interface ClassifiedPairs {
  /** Indexes of the pairs on the page asked for, and how many pairs the listing has in all. */
  listed: number[];
  listedTotal: number;
  /** Worst first. */
  worst: WorseValue[];
  /** The classified values of a pair, by metric name. */
  valuesOf(pair: number): Record<string, PairMetricJson>;
}

export function classifyPairs(paired: PairedOutputs, rules: readonly MetricRule[], page: PairPage, worstCount: number): ClassifiedPairs {
  const changed = new Uint8Array(paired.pairs.length);
  const complete = new Uint8Array(paired.pairs.length);
  /** Per metric, each pair's index into the metric's values (-1: not paired on it). */
  const valueIndexes = paired.metrics.map(() => new Int32Array(paired.pairs.length).fill(-1));
  const worst: WorseValue[] = [];
  paired.metrics.forEach((values, m) => {
    const rule = rules[m]!;
    for (let j = 0; j < values.pairIndexes.length; j++) {
      const i = values.pairIndexes[j]!;
      valueIndexes[m]![i] = j;
      complete[i] = 1;
      const { outcome, delta, relativeDelta } = classifyPair(values.newValue[j]!, values.refValue[j]!, rule);
      if (outcome === 'same') continue;
      changed[i] = 1;
      if (outcome !== 'worse') continue;
      const candidate = { pair: i, metric: m, size: relativeDelta === null ? Infinity : Math.abs(relativeDelta), absoluteDelta: Math.abs(delta) };
      if (worst.length === worstCount && !moreSevere(candidate, worst[worst.length - 1]!)) continue;
      let at = worst.length;
      while (at > 0 && moreSevere(candidate, worst[at - 1]!)) at--;
      worst.splice(at, 0, candidate);
      if (worst.length > worstCount) worst.pop();
    }
  });
  const shown = page.pairs === 'none' ? [] : paired.pairs.map((_, i) => i).filter((i) => (page.pairs === 'all' ? complete[i] : changed[i]));
  return {
    listed: shown.slice(page.offset, page.offset + page.limit),
    listedTotal: shown.length,
    worst,
    valuesOf(pair) {
      const byMetric: Record<string, PairMetricJson> = {};
      paired.metrics.forEach((values, m) => {
        const j = valueIndexes[m]![pair]!;
        if (j < 0) return;
        const [newValue, refValue] = [values.newValue[j]!, values.refValue[j]!];
        const { outcome, delta, relativeDelta } = classifyPair(newValue, refValue, rules[m]!);
        byMetric[values.name] = { new: newValue, ref: refValue, delta, relative_delta: relativeDelta, outcome };
      });
      return byMetric;
    },
  };
}
