/**
 * The rules of regression verdicts, from the `regressions:` section of the project's qaboard.yaml
 * (the reference branch's: a merge request can't loosen its own gate). Every field is optional:
 *
 *   regressions:
 *     gitlab: true              # post a commit status and a merge-request note when a batch completes
 *     fail_on: [regressed]      # verdicts that make that commit status `failed`
 *     significance: 0.05        # family-wise: split between the metrics compared (Bonferroni)
 *     min_pairs: 5              # fewer paired inputs on a metric → the verdict is `incomplete`
 *     tolerance: {relative: 0.01}   # changes within it count as unchanged (either bound suffices)
 *     metrics:                  # the metrics that decide (default: main_metrics, else every metric)
 *       psnr: {absolute: 0.05}  #   each with its own tolerance, or {} for the default one
 */
import { z } from '@hono/zod-openapi';
import { ApiError } from '../../lib/problem';
import type { Tolerance } from './statistics';

export const VERDICTS = ['pass', 'regressed', 'improved', 'incomplete'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * As the web app's metric badges: a change within 1% is shown neutral. It only ever helps when the
 * reference is non-zero; `absolute` covers metrics near zero.
 */
export const DEFAULT_TOLERANCE: Tolerance = { relative: 0.01 };
export const DEFAULT_SIGNIFICANCE = 0.05;
export const DEFAULT_MIN_PAIRS = 5;

const tolerance = z.strictObject({
  absolute: z.number().nonnegative().optional(),
  relative: z.number().nonnegative().optional(),
});

const regressionsSection = z.strictObject({
  gitlab: z.boolean().default(false),
  fail_on: z.array(z.enum(VERDICTS)).default(['regressed']),
  significance: z.number().gt(0).lt(1).default(DEFAULT_SIGNIFICANCE),
  min_pairs: z.number().int().min(1).default(DEFAULT_MIN_PAIRS),
  tolerance: tolerance.default(DEFAULT_TOLERANCE),
  metrics: z.record(z.string(), tolerance.nullable()).optional(),
});

export interface RegressionRules {
  /** Post verdicts to GitLab (commit status, merge-request note). */
  gitlab: boolean;
  failOn: Verdict[];
  significance: number;
  minPairs: number;
  tolerance: Tolerance;
  /** The metrics that decide and their tolerances; absent: the project's main metrics, else all. */
  metrics?: Map<string, Tolerance>;
}

/** The rules of a qaboard.yaml config; a section that doesn't parse is a 422 naming the field. */
export function regressionRules(config: unknown): RegressionRules {
  const section = (config as { regressions?: unknown } | null | undefined)?.regressions ?? {};
  const parsed = regressionsSection.safeParse(section);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => ({ field: ['regressions', ...issue.path].join('.'), message: issue.message }));
    const detail = `The project's qaboard.yaml has invalid regression rules: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`;
    throw new ApiError(422, detail, { errors });
  }
  const rules = parsed.data;
  return {
    gitlab: rules.gitlab,
    failOn: rules.fail_on,
    significance: rules.significance,
    minPairs: rules.min_pairs,
    tolerance: rules.tolerance,
    metrics: rules.metrics && new Map(Object.entries(rules.metrics).map(([name, own]) => [name, own && Object.keys(own).length ? own : rules.tolerance])),
  };
}
