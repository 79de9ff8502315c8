/**
 * Benchmark of the regression-verdict statistics (not a test): prints figures.
 *
 *   npm run bench:statistics -- [--pairs 10000] [--metrics 5] [--rounds 20]
 *
 * 1. The exact signed-rank distribution alone, by number of non-zero differences (with and
 *    without tied |d|): what sets EXACT_MAX_N in src/domain/compare/signed-rank.ts.
 * 2. A whole comparison: `--metrics` metrics of `--pairs` pairs each (continuous noise, a shifted
 *    metric, a quantized one full of ties and zeros, an unchanged one, a larger-is-better one),
 *    through compareMetric; the time of each round, all metrics included. Data from a seeded generator.
 */
import { parseArgs } from 'node:util';
import { EXACT_MAX_N, signedRankTest } from '../src/domain/compare/signed-rank';
import { compareMetric, type MetricRule } from '../src/domain/compare/statistics';
import { seededRandom } from '../test/support/seeded-random';

const { values: args } = parseArgs({
  options: { pairs: { type: 'string', default: '10000' }, metrics: { type: 'string', default: '5' }, rounds: { type: 'string', default: '20' } },
});
const PAIRS = Number(args.pairs);
const METRICS = Number(args.metrics);
const ROUNDS = Number(args.rounds);

const random = seededRandom(14);

/** Mean time of `repeat` runs, after as many untimed ones to let the JIT settle. */
function timeMs(run: () => void, repeat: number): number {
  for (let i = 0; i < repeat; i++) run();
  const started = performance.now();
  for (let i = 0; i < repeat; i++) run();
  return (performance.now() - started) / repeat;
}

console.log(`Exact signed-rank distribution (EXACT_MAX_N = ${EXACT_MAX_N}), mean of 200 warm runs:`);
for (const n of [25, 50, 75, 100]) {
  const distinct = Array.from({ length: n }, (_, i) => (random() < 0.5 ? -1 : 1) * (i + 1));
  const tied = distinct.map((d) => Math.sign(d) * Math.ceil(Math.abs(d) / 3));
  const exact = (differences: number[]) => timeMs(() => signedRankTest(differences, Infinity), 200);
  console.log(`  n = ${String(n).padStart(3)}: ${exact(distinct).toFixed(3)} ms distinct |d|, ${exact(tied).toFixed(3)} ms tied |d|`);
}

const kinds: { rule: MetricRule; newValue: (ref: number) => number }[] = [
  { rule: { smallerIsBetter: true, tolerance: { relative: 0.01 } }, newValue: (ref) => ref * (1 + (random() - 0.5) * 0.04) },
  { rule: { smallerIsBetter: true, tolerance: { absolute: 0.001 } }, newValue: (ref) => ref + 0.002 + (random() - 0.5) * 0.01 },
  { rule: { smallerIsBetter: true }, newValue: (ref) => ref + Math.round((random() - 0.5) * 3) },
  { rule: { smallerIsBetter: true }, newValue: (ref) => ref },
  { rule: { smallerIsBetter: false, tolerance: { relative: 0.005, absolute: 0.01 } }, newValue: (ref) => ref + (random() - 0.6) * 0.1 },
];
const metrics = Array.from({ length: METRICS }, (_, m) => {
  const kind = kinds[m % kinds.length]!;
  const refValue = Array.from({ length: PAIRS }, () => Math.round(random() * 1000));
  return { rule: kind.rule, pairs: { refValue, newValue: refValue.map(kind.newValue) } };
});

// Not warmed up: the first round is what a cold Worker isolate pays, and shows as the max.
const rounds: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const started = performance.now();
  for (const { pairs, rule } of metrics) compareMetric(pairs, rule);
  rounds.push(performance.now() - started);
}
rounds.sort((a, b) => a - b);
const methods = metrics.map(({ pairs, rule }) => compareMetric(pairs, rule).signedRank.method).join(', ');
console.log(`compareMetric, ${PAIRS} pairs × ${METRICS} metrics (signed-rank method: ${methods}), ${ROUNDS} rounds:`);
console.log(`  median ${rounds[rounds.length >> 1]!.toFixed(1)} ms  min ${rounds[0]!.toFixed(1)} ms  max ${rounds.at(-1)!.toFixed(1)} ms per comparison`);
