/**
 * The two null distributions the paired tests need besides the signed-rank one (signed-rank.ts):
 * the binomial(n, ½) of the sign test and the standard normal of the large-sample approximation.
 * Hand-written rather than imported: see the measurements at the top of statistics.ts.
 */

/**
 * P(X ≤ k) for X ~ Binomial(n, ½), summed term by term in log space so that large n neither
 * overflows C(n, k) nor underflows 2^-n (relative error ~ k·1e-16·n, ~1e-9 at n = 10,000).
 */
export function binomialHalfCdf(k: number, n: number): number {
  let logTerm = -n * Math.LN2; // log P(X = 0)
  let sum = 0;
  for (let j = 0; j <= Math.min(k, n); j++) {
    sum += Math.exp(logTerm);
    logTerm += Math.log((n - j) / (j + 1)); // P(X = j + 1) / P(X = j)
  }
  return Math.min(1, sum);
}

/**
 * Complementary error function by the Chebyshev fit of Press et al., Numerical Recipes (2nd ed.,
 * §6.2, `erfcc`): fractional error below 1.2e-7 for every x, tails included, which is far finer
 * than the normal approximation it serves (its own error is ~1e-3 at the sample sizes it is used for).
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const polynomial = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const tail = t * Math.exp(-z * z + polynomial);
  return x >= 0 ? tail : 2 - tail;
}

/** P(Z ≥ z) for a standard normal Z. */
export const normalUpperTail = (z: number): number => 0.5 * erfc(z / Math.SQRT2);
