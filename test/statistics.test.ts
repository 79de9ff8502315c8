/**
 * Known answers for the regression-verdict statistics (pure functions, no database): published
 * tables and R/scipy examples, exact binomial sums, and a brute-force enumeration of every sign
 * assignment for the exact signed-rank distribution.
 */
import { describe, expect, test } from 'vitest';
import { binomialHalfCdf, erfc, normalUpperTail } from '../src/domain/compare/distributions';
import { EXACT_MAX_N, signedRankTest } from '../src/domain/compare/signed-rank';
import { classifyPair, compareMetric, mean, median, signTest } from '../src/domain/compare/statistics';
import { seededRandom } from './support/seeded-random';


const pairsOf = (refValues: number[], newValue: (ref: number, i: number) => number) => ({ refValue: refValues, newValue: refValues.map(newValue) });

describe('median and mean', () => {
  test('odd and even counts, unsorted input left as it was', () => {
    const values = [5, 1, 4, 2, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 4, 2, 3]);
    expect(median([4, -1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(mean([1, 2, 3, 4])).toBe(2.5);
  });

  test('by selection, the same number as the middle of a sort, whatever the order and the ties', () => {
    const random = seededRandom(3);
    const sortedMiddle = (values: number[]) => {
      const sorted = Float64Array.from(values).sort();
      const middle = sorted.length >> 1;
      return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
    };
    const shapes: Record<string, (i: number, n: number) => number> = {
      continuous: () => random() * 1000 - 500,
      'few values (ties)': () => Math.round(random() * 3),
      sorted: (i) => i / 7,
      reversed: (i, n) => (n - i) / 7,
      constant: () => 42,
      'organ pipe (at n = 694, 695 median-of-three pivots split it so badly that it ends in a sort)': (i, n) => Math.min(i, n - i),
    };
    for (const [shape, value] of Object.entries(shapes)) {
      for (const n of [1, 2, 3, 10, 11, 100, 694, 695, 1001, 4000]) {
        const values = Array.from({ length: n }, (_, i) => value(i, n));
        expect(median(values), `${shape}, n = ${n}`).toBe(sortedMiddle(values));
      }
    }
  });

  test('no values → null', () => {
    expect(median([])).toBeNull();
    expect(mean([])).toBeNull();
  });
});

describe('classifyPair', () => {
  test('the direction decides better or worse', () => {
    expect(classifyPair(9, 10, { smallerIsBetter: true })).toEqual({ outcome: 'better', delta: -1, relativeDelta: -0.1 });
    expect(classifyPair(11, 10, { smallerIsBetter: true })).toEqual({ outcome: 'worse', delta: 1, relativeDelta: 0.1 });
    expect(classifyPair(9, 10, { smallerIsBetter: false }).outcome).toBe('worse');
    expect(classifyPair(11, 10, { smallerIsBetter: false }).outcome).toBe('better');
    expect(classifyPair(10, 10, { smallerIsBetter: false })).toEqual({ outcome: 'same', delta: 0, relativeDelta: 0 });
  });

  test('absolute and relative tolerances, bounds included; either one suffices', () => {
    const absolute = { smallerIsBetter: true, tolerance: { absolute: 1 } };
    expect(classifyPair(11, 10, absolute).outcome).toBe('same');
    expect(classifyPair(11.5, 10, absolute).outcome).toBe('worse');
    const relative = { smallerIsBetter: true, tolerance: { relative: 0.05 } };
    expect(classifyPair(9.6, 10, relative).outcome).toBe('same');
    expect(classifyPair(10.6, 10, relative).outcome).toBe('worse');
    expect(classifyPair(-10.4, -10, relative).outcome).toBe('same'); // relative to |ref|
    const both = { smallerIsBetter: true, tolerance: { absolute: 1, relative: 0.01 } };
    expect(classifyPair(10.9, 10, both).outcome).toBe('same');
    expect(classifyPair(1009, 1000, both).outcome).toBe('same');
    expect(classifyPair(1011, 1000, both).outcome).toBe('worse');
  });

  test('ref = 0: no relative delta, and a relative tolerance does not help', () => {
    expect(classifyPair(0.5, 0, { smallerIsBetter: true, tolerance: { relative: 0.5 } })).toEqual({ outcome: 'worse', delta: 0.5, relativeDelta: null });
    expect(classifyPair(0.5, 0, { smallerIsBetter: true, tolerance: { absolute: 1 } }).outcome).toBe('same');
    expect(classifyPair(0, 0, { smallerIsBetter: true }).relativeDelta).toBe(0);
  });

  test('a negative ref: the relative delta keeps the sign of the delta', () => {
    expect(classifyPair(-12, -10, { smallerIsBetter: true })).toEqual({ outcome: 'better', delta: -2, relativeDelta: -0.2 });
  });
});

describe('distributions', () => {
  test('erfc within 1.2e-7 (relative) of independently computed values (Python math.erfc)', () => {
    const reference: [number, number][] = [
      [-3, 1.9999779095030015], [-1, 1.842700792949715], [-0.5, 1.5204998778130465], [0, 1],
      [0.3, 0.6713732405408726], [1, 0.15729920705028513], [2, 0.004677734981047265],
      [3, 2.2090496998585438e-5], [5, 1.5374597944280351e-12], [8, 1.1224297172982928e-29], [10, 2.088487583762545e-45],
    ];
    for (const [x, value] of reference) expect(Math.abs(erfc(x) / value - 1)).toBeLessThan(1.2e-7);
  });

  test('normal upper tail at the usual critical values', () => {
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 8);
    expect(normalUpperTail(2.5758293035489)).toBeCloseTo(0.005, 9);
    expect(normalUpperTail(-1.959963984540054)).toBeCloseTo(0.975, 8);
  });

  test('binomial(n, ½) CDF: exact sums (Python fractions over math.comb)', () => {
    expect(binomialHalfCdf(9, 10)).toBeCloseTo(1 - 1 / 1024, 15);
    expect(binomialHalfCdf(10, 10)).toBe(1);
    expect(binomialHalfCdf(-1, 10)).toBe(0);
    expect(binomialHalfCdf(4900, 10_000) / 0.023292763852473693 - 1).toBeLessThan(1e-9);
    expect(Math.abs(binomialHalfCdf(5000, 10_000) / 0.5039893230696911 - 1)).toBeLessThan(1e-9);
  });
});

describe('sign test', () => {
  test('9 of 10 positive: P(X ≥ 9) = 11/1024', () => {
    const { n, pValue } = signTest(9, 1);
    expect(n).toBe(10);
    expect(pValue.greater).toBeCloseTo(11 / 1024, 15);
    expect(pValue.less).toBeCloseTo(1023 / 1024, 15);
    expect(pValue.twoSided).toBeCloseTo(22 / 1024, 15);
  });

  test('5100 of 10,000 positive (exact sums: Python fractions over math.comb)', () => {
    const { pValue } = signTest(5100, 4900);
    expect(Math.abs(pValue.greater / 0.023292763852473693 - 1)).toBeLessThan(1e-9);
    expect(Math.abs(pValue.twoSided / 0.046585527704947386 - 1)).toBeLessThan(1e-9);
    expect(Math.abs(pValue.less / 0.9777871004769597 - 1)).toBeLessThan(1e-9);
  });

  test('balanced, one pair, none: p = 1 where nothing is shown', () => {
    expect(signTest(5000, 5000).pValue.twoSided).toBe(1);
    expect(signTest(1, 0).pValue).toEqual({ greater: 0.5, less: 1, twoSided: 1 });
    expect(signTest(0, 0)).toEqual({ n: 0, positives: 0, pValue: { greater: 1, less: 1, twoSided: 1 } });
  });
});

/** Average ranks of |d| over the non-zero d, computed the plain O(n²) way. */
function averageRanks(nonZero: number[]): number[] {
  return nonZero.map((d) => {
    const smaller = nonZero.filter((e) => Math.abs(e) < Math.abs(d)).length;
    const tied = nonZero.filter((e) => Math.abs(e) === Math.abs(d)).length;
    return smaller + (tied + 1) / 2;
  });
}

/** One-sided p-values by enumerating all 2^n sign assignments of the ranks. */
function bruteForcePValues(differences: number[]): { greater: number; less: number } {
  const nonZero = differences.filter((d) => d !== 0);
  const ranks = averageRanks(nonZero);
  const observed = ranks.reduce((sum, rank, i) => (nonZero[i]! > 0 ? sum + rank : sum), 0);
  let atLeast = 0;
  let atMost = 0;
  for (let signs = 0; signs < 2 ** ranks.length; signs++) {
    const wPlus = ranks.reduce((sum, rank, i) => ((signs >> i) & 1 ? sum + rank : sum), 0);
    if (wPlus >= observed) atLeast++;
    if (wPlus <= observed) atMost++;
  }
  return { greater: atLeast / 2 ** ranks.length, less: atMost / 2 ** ranks.length };
}

/** Differences ±1..±n whose positive ranks sum to `wPlus` (taken greedily from the largest). */
function withRankSum(n: number, wPlus: number): number[] {
  let left = wPlus;
  return Array.from({ length: n }, (_, i) => n - i).map((rank) => {
    if (rank > left) return -rank;
    left -= rank;
    return rank;
  });
}

describe('Wilcoxon signed-rank, exact', () => {
  test('R wilcox.test example (Hollander & Wolfe, depression scale): V = 40, p = 0.01953 one-sided', () => {
    const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
    const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    const result = signedRankTest(x.map((xi, i) => xi - y[i]!));
    expect(result).toMatchObject({ method: 'exact', n: 9, zeros: 0, wPlus: 40, wMinus: 5 });
    expect(result.pValue.greater).toBe(10 / 512);
    expect(result.pValue.greater).toBeCloseTo(0.01953, 5);
  });

  test('scipy.stats.wilcoxon example (Darwin\'s maize): statistic 24, p = 0.041259765625; greater: 96, 0.0206298828125', () => {
    const result = signedRankTest([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]);
    expect(result).toMatchObject({ method: 'exact', n: 15, wPlus: 96, wMinus: 24 });
    expect(result.pValue.twoSided).toBe(0.041259765625);
    expect(result.pValue.greater).toBe(0.0206298828125);
  });

  // Largest T with P(W ≤ T) ≤ α: two-sided α = 0.05 from the University of York's table
  // (york.ac.uk/depts/maths/tables/wilcoxon.htm), one-sided α = 0.05 from LibreTexts'
  // "Chemometrics Using R", appendix 12.6 — both also recomputed independently (Python).
  const twoSided05 = [0, 2, 3, 5, 8, 10, 13, 17, 21, 25, 29, 34, 40, 46, 52, 58, 65, 73, 81, 89]; // n = 6..25
  const oneSided05 = [0, 2, 3, 5, 8, 10, 13, 17, 21, 25, 30, 35, 41, 47, 53, 60]; // n = 5..20
  test.each(twoSided05.map((critical, i) => [i + 6, critical]))('n = %i: two-sided 5%% critical value %i', (n, critical) => {
    expect(signedRankTest(withRankSum(n, critical)).pValue.twoSided).toBeLessThanOrEqual(0.05);
    expect(signedRankTest(withRankSum(n, critical + 1)).pValue.twoSided).toBeGreaterThan(0.05);
  });
  test.each(oneSided05.map((critical, i) => [i + 5, critical]))('n = %i: one-sided 5%% critical value %i', (n, critical) => {
    expect(signedRankTest(withRankSum(n, critical)).pValue.less).toBeLessThanOrEqual(0.05);
    expect(signedRankTest(withRankSum(n, critical + 1)).pValue.less).toBeGreaterThan(0.05);
  });
  test('n = 5 cannot reach 5% two-sided: the smallest p is 2/32', () => {
    expect(signedRankTest([-1, -2, -3, -4, -5]).pValue.twoSided).toBe(1 / 16);
  });

  const random = seededRandom(2026);
  const randomDifferences = (n: number, sizes: number) =>
    Array.from({ length: n }, () => (random() < 0.65 ? 1 : -1) * Math.floor(random() * sizes));
  test.each([
    ['distinct |d|', [1.5, -2, 3, 4.25, -5, 6, 7, -8, 9, 10]],
    ['tied |d| and zeros', [1, -1, 2, 2, -2, 3, 4, -4, 4, 5, 0, 0]],
    ['every |d| tied', [3, -3, 3, 3, -3, 3, 3, 3]],
    ['random, 5 sizes (many ties)', randomDifferences(14, 5)],
    ['random, 40 sizes', randomDifferences(14, 40)],
    ['random, 3 sizes', randomDifferences(12, 3)],
  ])('matches the enumeration of all 2^n sign assignments: %s', (_, differences) => {
    const result = signedRankTest(differences);
    const expected = bruteForcePValues(differences);
    expect(result.method).toBe('exact');
    expect(result.pValue.greater).toBeCloseTo(expected.greater, 12);
    expect(result.pValue.less).toBeCloseTo(expected.less, 12);
    expect(result.pValue.twoSided).toBeCloseTo(Math.min(1, 2 * Math.min(expected.greater, expected.less)), 12);
  });

  test('ties: W+ counts average ranks', () => {
    // |d| = 1, 2, 2, 3 → ranks 1, 2.5, 2.5, 4
    expect(signedRankTest([1, -2, 2, 3])).toMatchObject({ n: 4, wPlus: 7.5, wMinus: 2.5 });
  });

  test('all differences zero: nothing to rank, p = 1', () => {
    expect(signedRankTest([0, 0, 0])).toEqual({ n: 0, zeros: 3, wPlus: 0, wMinus: 0, method: 'exact', pValue: { twoSided: 1, greater: 1, less: 1 } });
    expect(signedRankTest([]).pValue).toEqual({ twoSided: 1, greater: 1, less: 1 });
  });

  test('one difference: W+ is 0 or 1 with probability ½', () => {
    expect(signedRankTest([0.3]).pValue).toEqual({ twoSided: 1, greater: 0.5, less: 1 });
    expect(signedRankTest([-0.3]).pValue).toEqual({ twoSided: 1, greater: 1, less: 0.5 });
  });

  test(`exact up to ${EXACT_MAX_N} non-zero differences, normal above`, () => {
    const differences = Array.from({ length: EXACT_MAX_N }, (_, i) => i + 1);
    expect(signedRankTest([...differences, 0]).method).toBe('exact');
    expect(signedRankTest([...differences, 51]).method).toBe('normal');
  });
});

describe('Wilcoxon signed-rank, normal approximation', () => {
  test('R wilcox.test with ties (Dalgaard, Introductory Statistics with R, energy intake): V = 66, p = 0.00384', () => {
    const pre = [5260, 5470, 5640, 6180, 6390, 6515, 6805, 7515, 7515, 8230, 8770];
    const post = [3910, 4220, 3885, 5160, 5645, 4680, 5265, 5975, 6790, 6900, 7335];
    const result = signedRankTest(pre.map((value, i) => value - post[i]!), 0); // R switches to normal on ties
    expect(result).toMatchObject({ method: 'normal', n: 11, wPlus: 66 });
    expect(result.pValue.twoSided).toBeCloseTo(0.00384, 5);
  });

  test('R wilcox.test with a zero (stats.stackexchange.com/q/510275): V = 10, p = 0.1003', () => {
    // 5.1 − 2.5 and 4.7 − 2.1 differ in floating point, as in R: no tie there
    const q1 = [6, 19.5, 5.1, 4.7, 10.6];
    const q4 = [6, 5, 2.5, 2.1, 5.4];
    const result = signedRankTest(q1.map((value, i) => value - q4[i]!), 0);
    expect(result).toMatchObject({ method: 'normal', n: 4, zeros: 1, wPlus: 10 });
    expect(result.pValue.twoSided).toBeCloseTo(0.1003, 4);
  });

  const random = seededRandom(30);
  test.each([
    [30, 1000], [35, 1000], [40, 1000], [40, 6], [60, 1000], [60, 8],
  ])('n = %i, |d| among %i sizes: within 0.01 of the exact p-values', (n, sizes) => {
    let largestGap = 0;
    for (let sample = 0; sample < 40; sample++) {
      const lean = 0.2 + (0.6 * sample) / 40; // from mostly negative to mostly positive
      const differences = Array.from({ length: n }, () => (random() < lean ? 1 : -1) * (1 + Math.floor(random() * sizes)));
      const exact = signedRankTest(differences, Infinity);
      const normal = signedRankTest(differences, 0);
      expect([exact.method, normal.method]).toEqual(['exact', 'normal']);
      for (const side of ['twoSided', 'greater', 'less'] as const) {
        largestGap = Math.max(largestGap, Math.abs(exact.pValue[side] - normal.pValue[side]));
      }
    }
    expect(largestGap).toBeLessThan(0.01);
  });

  test('within 0.5 of the mean: p = 1, not above', () => {
    // n = 4: mean 5; W+ = 5 exactly
    expect(signedRankTest([1, -2, -3, 4], 0).pValue.twoSided).toBe(1);
  });
});

describe('compareMetric', () => {
  const refValues = Array.from({ length: 20 }, (_, i) => 100 + 7 * i);
  const runtime = { smallerIsBetter: true, tolerance: { relative: 0.01 } };

  test('a clear regression: 18 of 20 inputs 10% slower', () => {
    const pairs = pairsOf(refValues, (ref, i) => (i < 18 ? ref * 1.1 : ref * 0.95));
    const result = compareMetric(pairs, runtime);
    expect(result).toMatchObject({ pairs: 20, regressed: 18, improved: 2, unchanged: 0 });
    expect(result.ref).toEqual({ median: 166.5, mean: 166.5 });
    expect(result.signTest.n).toBe(20);
    expect(result.signTest.pValue.regression).toBeCloseTo(211 / 2 ** 20, 15); // P(X ≥ 18), X ~ B(20, ½)
    expect(result.signTest.pValue.improvement).toBeGreaterThan(0.99);
    expect(result.signedRank.method).toBe('exact');
    expect(result.signedRank.pValue.regression).toBeLessThan(1e-4);
    expect(result.signedRank.pValue.twoSided).toBeLessThan(2e-4);
    expect(result.signedRank.pValue.improvement).toBeGreaterThan(0.99);
  });

  test('the same changes on a larger-is-better metric are improvements', () => {
    const pairs = pairsOf(refValues, (ref, i) => (i < 18 ? ref * 1.1 : ref * 0.95));
    const slower = compareMetric(pairs, runtime);
    const faster = compareMetric(pairs, { ...runtime, smallerIsBetter: false });
    expect([faster.regressed, faster.improved]).toEqual([slower.improved, slower.regressed]);
    expect(faster.signTest.pValue).toEqual({ ...slower.signTest.pValue, regression: slower.signTest.pValue.improvement, improvement: slower.signTest.pValue.regression });
    expect(faster.signedRank.pValue.regression).toBe(slower.signedRank.pValue.improvement);
    expect(faster.signedRank.pValue.improvement).toBe(slower.signedRank.pValue.regression);
    expect(faster.signedRank.worseRankSum + slower.signedRank.worseRankSum).toBe((20 * 21) / 2);
    expect(faster.medianDelta).toBe(slower.medianDelta); // new − ref, whatever the direction
  });

  test('improvements: every input 5% faster', () => {
    const result = compareMetric(pairsOf(refValues, (ref) => ref * 0.95), runtime);
    expect(result).toMatchObject({ regressed: 0, improved: 20, unchanged: 0 });
    expect(result.signTest.pValue.improvement).toBe(2 ** -20);
    expect(result.signedRank.pValue.improvement).toBe(2 ** -20);
    expect(result.signedRank.pValue.regression).toBe(1);
  });

  test('noise only: small symmetric changes, no significance', () => {
    const noise = [0.3, -0.2, 0.1, -0.4, 0.2, -0.1, 0.4, -0.3, 0.25, -0.25];
    const result = compareMetric(pairsOf(refValues, (ref, i) => ref + noise[i % 10]!), { smallerIsBetter: true });
    expect(result).toMatchObject({ regressed: 10, improved: 10 });
    expect(result.medianDelta).toBeCloseTo(0, 12);
    expect(result.signTest.pValue.twoSided).toBe(1);
    expect(result.signedRank.pValue.twoSided).toBeGreaterThan(0.9);
  });

  test('the tolerance drops pairs from the sign test, not from the signed-rank test', () => {
    const noise = [0.3, -0.2, 0.1, -0.4, 0.2, -0.1, 0.4, -0.3, 0.25, -0.25];
    const result = compareMetric(pairsOf(refValues, (ref, i) => ref + noise[i % 10]!), { smallerIsBetter: true, tolerance: { absolute: 0.5 } });
    expect(result).toMatchObject({ regressed: 0, improved: 0, unchanged: 20 });
    expect(result.signTest).toEqual({ n: 0, pValue: { twoSided: 1, regression: 1, improvement: 1 } });
    expect(result.signedRank.n).toBe(20);
  });

  test('all ties: every input unchanged → p = 1, no error', () => {
    const result = compareMetric(pairsOf(refValues, (ref) => ref), runtime);
    expect(result).toMatchObject({ regressed: 0, improved: 0, unchanged: 20, medianDelta: 0 });
    expect(result.signTest.pValue).toEqual({ twoSided: 1, regression: 1, improvement: 1 });
    expect(result.signedRank).toEqual({ method: 'exact', n: 0, zeros: 20, worseRankSum: 0, pValue: { twoSided: 1, regression: 1, improvement: 1 } });
  });

  test('one pair', () => {
    const result = compareMetric({ newValue: [3], refValue: [2] }, { smallerIsBetter: true });
    expect(result).toMatchObject({ pairs: 1, new: { median: 3, mean: 3 }, ref: { median: 2, mean: 2 }, medianDelta: 1, regressed: 1 });
    expect(result.signTest.pValue).toEqual({ twoSided: 1, regression: 0.5, improvement: 1 });
    expect(result.signedRank.pValue).toEqual({ twoSided: 1, regression: 0.5, improvement: 1 });
  });

  test('no pairs', () => {
    expect(compareMetric({ newValue: [], refValue: [] }, runtime)).toEqual({
      pairs: 0,
      new: { median: null, mean: null },
      ref: { median: null, mean: null },
      medianDelta: null,
      regressed: 0,
      improved: 0,
      unchanged: 0,
      signTest: { n: 0, pValue: { twoSided: 1, regression: 1, improvement: 1 } },
      signedRank: { method: 'exact', n: 0, zeros: 0, worseRankSum: 0, pValue: { twoSided: 1, regression: 1, improvement: 1 } },
    });
  });

  test('thousands of pairs: the normal approximation sees a 1% shift under noise', () => {
    const random = seededRandom(7);
    const manyRefs = Array.from({ length: 5000 }, () => 50 + random() * 100);
    const result = compareMetric(pairsOf(manyRefs, (ref) => ref * (1.01 + (random() - 0.5) * 0.2)), { smallerIsBetter: true });
    expect(result.signedRank.method).toBe('normal');
    expect(result.signedRank.pValue.regression).toBeLessThan(1e-6);
    expect(result.signTest.pValue.regression).toBeLessThan(1e-3);
  });
});
