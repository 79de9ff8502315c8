/**
 * Wire shapes of comparisons and verdicts (src/domain/compare/comparison-json.ts builds them),
 * and the list parameters of their queries.
 */
import { z } from '@hono/zod-openapi';
import { VERDICTS } from '../../domain/compare/regression-rules';
import { metricNameProblem } from '../../domain/fields';
import { jsonObject, problemSchema } from '../schemas';

const MAX_LISTED_METRICS = 50;

/** `psnr,ssim`: the metrics to compare, comma-separated. */
export const metricNamesQuery = z
  .string()
  .max(8192)
  .optional()
  .transform((text, ctx) => {
    if (text === undefined) return undefined;
    const names = [...new Set(text.split(',').map((name) => name.trim()).filter(Boolean))];
    if (!names.length) ctx.addIssue({ code: 'custom', message: 'name at least one metric' });
    if (names.length > MAX_LISTED_METRICS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_LISTED_METRICS} metrics can be compared` });
    const problem = names.map(metricNameProblem).find(Boolean);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    return names;
  })
  .openapi({
    type: 'string',
    example: 'psnr,ssim',
    description: "Comma-separated metric names (default: the rules' metrics, else the project's `main_metrics`, else every metric defined).",
  });

/** `regressed,incomplete`: the verdicts that make the answer a 409. */
export const failOnQuery = z
  .string()
  .max(256)
  .optional()
  .transform((text, ctx) => {
    const names = (text ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = names.filter((name) => !(VERDICTS as readonly string[]).includes(name));
    if (unknown.length) ctx.addIssue({ code: 'custom', message: `unknown verdict ${unknown.join(', ')} (one of ${VERDICTS.join(', ')})` });
    return names as (typeof VERDICTS)[number][];
  })
  .openapi({
    type: 'string',
    example: 'regressed',
    description: 'Comma-separated verdicts that answer 409 instead of 200, so that `curl --fail` fails a CI job: `regressed`, or `regressed,incomplete`.',
  });

const verdict = z.enum(VERDICTS);
const metricStatus = z
  .enum(['regressed', 'improved', 'unchanged', 'insufficient', 'absent'])
  .openapi({ description: '`insufficient`: fewer paired inputs than `min_pairs`; `absent`: no input reports it on both sides (not compared).' });
const outputState = z.enum(['valid', 'failed', 'pending', 'missing']);
const run = {
  test_input_database: z.string(),
  test_input_path: z.string(),
  platform: z.string(),
  configurations: z.array(z.unknown()),
  extra_parameters: jsonObject,
};
const pairValues = {
  new: z.number(),
  ref: z.number(),
  delta: z.number().openapi({ description: 'new − ref' }),
  relative_delta: z.number().nullable().openapi({ description: 'delta / |ref|; null when ref = 0.' }),
};

const counts = z.object({
  paired: z.number().int().openapi({ description: 'Runs whose outputs are valid on both sides.' }),
  missing_in_new: z.number().int(),
  missing_in_reference: z.number().int(),
  failed_in_new: z.number().int(),
  failed_in_reference: z.number().int(),
  pending_in_new: z.number().int(),
  pending_in_reference: z.number().int(),
});

const reference = z
  .object({
    id: z.string().openapi({ description: 'The reference hexsha.' }),
    batch: z.string(),
    branch: z.string().nullable(),
    resolved_from: z.enum(['default', 'milestone', 'commit', 'branch']),
    requested: z.string().openapi({ description: '`reference` as given, or the reference branch.' }),
  })
  .nullable()
  .openapi({ description: 'null when the project has no reference yet (the verdict is then `incomplete`).' });

const metricSummary = {
  status: metricStatus,
  pairs: z.number().int(),
  regressed: z.number().int().openapi({ description: 'Inputs worse beyond the tolerance.' }),
  improved: z.number().int(),
  median_delta: z.number().nullable(),
  p_regression: z.number().openapi({ description: 'The larger of the sign and signed-rank one-sided p-values towards worse.' }),
  p_improvement: z.number(),
};

const worstRegression = z.object({ ...run, metric: z.string(), ...pairValues });

const verdictFields = {
  verdict,
  reasons: z.array(z.string()),
  project: z.string(),
  commit: z.object({ id: z.string(), batch: z.string(), branch: z.string().nullable() }),
  reference,
  counts,
  worst_regressions: z.array(worstRegression).openapi({ description: 'At most 10, worst relative change first.' }),
  url: z.string().nullable().openapi({ description: "The commit's page in the web app, compared with the reference (needs WEB_APP_URL)." }),
};

const RUN_EXAMPLE = { test_input_database: '/mnt/datasets/isp', test_input_path: 'scenes/night/0001.dng', platform: 'linux', configurations: ['base'], extra_parameters: {} };
const COMMON_EXAMPLE = {
  verdict: 'regressed' as const,
  reasons: ['psnr regressed: worse on 9 of 12 inputs, better on 0 (median Δ -0.45dB, p = 0.0039)'],
  project: 'group/repo',
  commit: { id: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1', batch: 'default', branch: 'feature/denoise' },
  reference: { id: '1c0ffee5e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1', batch: 'default', branch: 'master', resolved_from: 'default' as const, requested: 'master' },
  counts: { paired: 12, missing_in_new: 0, missing_in_reference: 0, failed_in_new: 0, failed_in_reference: 0, pending_in_new: 0, pending_in_reference: 0 },
  worst_regressions: [{ ...RUN_EXAMPLE, metric: 'psnr', new: 30.1, ref: 31.4, delta: -1.3, relative_delta: -0.0414 }],
  url: 'https://qaboard.example.com/group/repo/commit/48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1?reference=1c0ffee5e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
};
const SUMMARY_EXAMPLE = { status: 'regressed' as const, pairs: 12, regressed: 9, improved: 0, median_delta: -0.45, p_regression: 0.0039, p_improvement: 1 };

export const verdictSchema = z
  .object({ ...verdictFields, metrics: z.record(z.string(), z.object(metricSummary)).openapi({ description: 'Per metric compared.' }) })
  .openapi('Verdict', { example: { ...COMMON_EXAMPLE, metrics: { psnr: SUMMARY_EXAMPLE } } });

const pValues = z.object({ two_sided: z.number(), regression: z.number(), improvement: z.number() });

const metricComparison = z
  .object({
    ...metricSummary,
    label: z.string(),
    smaller_is_better: z.boolean(),
    scale: z.number(),
    suffix: z.string(),
    target: z.number().nullable(),
    tolerance: z.object({ absolute: z.number().optional(), relative: z.number().optional() }),
    new_values: z.number().int().openapi({ description: 'Valid outputs of the batch reporting the metric (paired or not).' }),
    ref_values: z.number().int(),
    unchanged: z.number().int(),
    new: z.object({ median: z.number().nullable(), mean: z.number().nullable() }).openapi({ description: 'Over the paired inputs.' }),
    ref: z.object({ median: z.number().nullable(), mean: z.number().nullable() }),
    sign_test: z.object({ n: z.number().int().openapi({ description: 'Inputs that moved beyond the tolerance.' }), p_value: pValues }),
    signed_rank: z.object({
      method: z.enum(['exact', 'normal']),
      n: z.number().int().openapi({ description: 'Non-zero differences, ranked.' }),
      zeros: z.number().int(),
      worse_rank_sum: z.number(),
      p_value: pValues,
    }),
  })
  .openapi('MetricComparison');

const METRIC_EXAMPLE = {
  ...SUMMARY_EXAMPLE,
  label: 'PSNR',
  smaller_is_better: false,
  scale: 1,
  suffix: 'dB',
  target: 30,
  tolerance: { absolute: 0.05 },
  new_values: 12,
  ref_values: 12,
  unchanged: 3,
  new: { median: 31.05, mean: 31.02 },
  ref: { median: 31.5, mean: 31.44 },
  sign_test: { n: 9, p_value: { two_sided: 0.0039, regression: 0.002, improvement: 1 } },
  signed_rank: { method: 'exact' as const, n: 12, zeros: 0, worse_rank_sum: 74, p_value: { two_sided: 0.0034, regression: 0.0017, improvement: 0.9990 } },
};

export const comparisonSchema = z
  .object({
    ...verdictFields,
    rules: z.object({
      significance: z.number(),
      per_metric_significance: z.number().openapi({ description: '`significance` / the number of metrics tested (Bonferroni).' }),
      min_pairs: z.number().int(),
      fail_on: z.array(verdict),
    }),
    metrics: z.record(z.string(), metricComparison),
    pairs_total: z.number().int().openapi({ description: 'How many pairs the listing has; `pairs` is the page `offset`/`limit` asked for.' }),
    pairs: z
      .array(z.object({ ...run, new_output_id: z.number().int(), ref_output_id: z.number().int(), metrics: z.record(z.string(), z.object({ ...pairValues, outcome: z.enum(['better', 'worse', 'same']) })) }))
      .openapi({ description: 'Paired inputs (as `pairs` asks), by output id, with each metric both sides report.' }),
    unpaired: z
      .array(z.object({ ...run, new_output_id: z.number().int().nullable(), ref_output_id: z.number().int().nullable(), new: outputState, reference: outputState }))
      .openapi({ description: 'Runs missing, failed or pending on either side, by output id; at most 1,000 (`counts` has them all).' }),
  })
  .openapi('Comparison', {
    example: {
      ...COMMON_EXAMPLE,
      rules: { significance: 0.05, per_metric_significance: 0.05, min_pairs: 5, fail_on: ['regressed'] },
      metrics: { psnr: METRIC_EXAMPLE },
      pairs_total: 1,
      pairs: [{ ...RUN_EXAMPLE, new_output_id: 1042, ref_output_id: 988, metrics: { psnr: { new: 30.1, ref: 31.4, delta: -1.3, relative_delta: -0.0414, outcome: 'worse' as const } } }],
      unpaired: [],
    },
  });

export const verdictProblemSchema = problemSchema.extend({ verdict: verdictSchema }).openapi('VerdictProblem');
