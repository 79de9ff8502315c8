/**
 * Every paired value classified against its metric's tolerance (`classifyPair`): the per-input
 * listing of a comparison, and its worst regressions. Tens of thousands of values: one pass,
 * objects only for what is listed, and the worst kept in a small sorted list rather than sorting
 * every regression.
 */
import type { PairMetricJson, PairsJson, RunJson, WorstRegressionJson } from './comparison-json';
import type { PairedOutputs, RunIdentity } from './paired-outputs';
import { classifyPair, type MetricRule } from './statistics';

/** Which paired inputs a comparison lists: those where some metric moved beyond its tolerance, all, or none. */
export type PairsListed = 'changed' | 'all' | 'none';

export const runJson = (run: RunIdentity): RunJson => ({
  test_input_database: run.database,
  test_input_path: run.path,
  platform: run.platform,
  configurations: run.configurations,
  extra_parameters: run.extraParameters,
});

interface Worse {
  /** |relative delta|; a change from 0 counts as the largest. */
  size: number;
  absoluteDelta: number;
  metric: number;
  /** Index into the metric's paired values. */
  value: number;
}

const moreSevere = (a: Worse, b: Worse) => a.size > b.size || (a.size === b.size && a.absoluteDelta > b.absoluteDelta);

export function classifyPairs(
  paired: PairedOutputs,
  rules: readonly MetricRule[],
  listing: PairsListed,
  worstCount: number,
): { pairs: PairsJson; worstRegressions: WorstRegressionJson[] } {
  const byPair: (Record<string, PairMetricJson> | undefined)[] = [];
  const changed = new Uint8Array(paired.pairs.length);
  const worst: Worse[] = [];
  paired.metrics.forEach((values, m) => {
    const rule = rules[m]!;
    for (let j = 0; j < values.pairIndexes.length; j++) {
      const [i, newValue, refValue] = [values.pairIndexes[j]!, values.newValue[j]!, values.refValue[j]!];
      const { outcome, delta, relativeDelta } = classifyPair(newValue, refValue, rule);
      if (outcome !== 'same') changed[i] = 1;
      if (listing !== 'none') (byPair[i] ??= {})[values.name] = { new: newValue, ref: refValue, delta, relative_delta: relativeDelta, outcome };
      if (outcome !== 'worse') continue;
      const candidate = { size: relativeDelta === null ? Infinity : Math.abs(relativeDelta), absoluteDelta: Math.abs(delta), metric: m, value: j };
      if (worst.length === worstCount && !moreSevere(candidate, worst[worst.length - 1]!)) continue;
      let at = worst.length;
      while (at > 0 && moreSevere(candidate, worst[at - 1]!)) at--;
      worst.splice(at, 0, candidate);
      if (worst.length > worstCount) worst.pop();
    }
  });
  const pairs: PairsJson = [];
  byPair.forEach((metrics, i) => {
    if (!metrics || (listing === 'changed' && !changed[i])) return;
    const pair = paired.pairs[i]!;
    pairs.push({ ...runJson(pair), new_output_id: pair.newOutputId!, ref_output_id: pair.refOutputId!, metrics });
  });
  const worstRegressions = worst.map(({ metric, value }) => {
    const values = paired.metrics[metric]!;
    const [newValue, refValue] = [values.newValue[value]!, values.refValue[value]!];
    const { delta, relativeDelta } = classifyPair(newValue, refValue, rules[metric]!);
    return { ...runJson(paired.pairs[values.pairIndexes[value]!]!), metric: values.name, new: newValue, ref: refValue, delta, relative_delta: relativeDelta };
  });
  return { pairs, worstRegressions };
}
