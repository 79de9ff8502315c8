import { createRoute, z } from '@hono/zod-openapi';
import { batchLabel, projectId } from '../../domain/fields';
import { boundedText } from '../../lib/fields';
import { PROBLEM_CONTENT_TYPE } from '../../lib/problem';
import { errorResponses, jsonContent, problemResponseSpec } from '../schemas';
import { comparisonSchema, failOnQuery, metricNamesQuery, verdictProblemSchema, verdictSchema } from './compare.schemas';

const tags = ['Regression verdicts'];
const MAX_PAIRS_LISTED = 10_000;

const comparisonQuery = {
  project: projectId(),
  batch: batchLabel().default('default').openapi({ description: 'The batch compared.' }),
  reference: boundedText(2048)
    .optional()
    .openapi({
      example: 'master',
      description:
        'A milestone key (`<project>/<hexsha>/<batch>`), a hexsha prefix, or a branch (its latest commit with results). ' +
        "Default: the latest other commit with results on the project's reference branch.",
    }),
  reference_batch: batchLabel().optional().openapi({ description: 'The reference batch (default: `batch`; a milestone names its own).' }),
  metrics: metricNamesQuery,
};

const commitParams = z.object({ id: boundedText(64).openapi({ example: '48b24841' }) });

const comparisonErrors = {
  ...errorResponses,
  404: problemResponseSpec('Unknown project, commit or batch; a `reference` that names nothing with results.'),
  422: problemResponseSpec("The project's qaboard.yaml `regressions:` section is invalid: `errors` names the fields."),
};

const rulesDescription =
  'Runs are paired on (test input, platform, configurations, extra_parameters). For each metric, both paired tests — a sign test ' +
  'on the inputs that moved beyond the tolerance, and a Wilcoxon signed-rank test on the differences — must lean the same way at ' +
  '`significance` / (metrics tested). Verdict: `regressed` if any metric regressed; else `incomplete` if something could not be ' +
  'compared (no reference, failed or pending outputs, reference inputs missing, fewer than `min_pairs` pairs); else `improved` ' +
  "if any metric improved; else `pass`. Rules: the project's qaboard.yaml `regressions:` section (see the README).";

export const compareCommit = createRoute({
  method: 'get',
  path: '/api/v1/commit/{id}/compare',
  operationId: 'compareCommit',
  tags,
  summary: 'Compare a batch with its reference, per metric and per input',
  description: `${rulesDescription} Lists the paired values (\`pairs\`), the unpaired runs and each metric's statistics.`,
  request: {
    params: commitParams,
    query: z.object({
      ...comparisonQuery,
      pairs: z
        .enum(['changed', 'all', 'none'])
        .default('changed')
        .openapi({ description: 'Which paired inputs to list: those where some metric moved beyond its tolerance, all, or none.' }),
      offset: z.coerce.number().int().min(0).max(10_000_000).default(0).openapi({ description: 'Skip this many listed pairs.' }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(MAX_PAIRS_LISTED)
        .default(1000)
        .openapi({ description: `Pairs listed at most (up to ${MAX_PAIRS_LISTED}); \`pairs_total\` says how many there are.` }),
    }),
  },
  responses: { 200: jsonContent(comparisonSchema, 'The comparison.'), ...comparisonErrors },
});

export const getVerdict = createRoute({
  method: 'get',
  path: '/api/v1/commit/{id}/verdict',
  operationId: 'getVerdict',
  tags,
  summary: 'The regression verdict of a batch, for a CI job',
  description:
    `The summary of \`/compare\`. With \`fail_on\`, a verdict it lists answers **409** (problem+json with the verdict in \`verdict\`), ` +
    `so that \`curl --fail\` fails the job. ${rulesDescription}`,
  request: { params: commitParams, query: z.object({ ...comparisonQuery, fail_on: failOnQuery }) },
  responses: {
    200: jsonContent(verdictSchema, 'The verdict.'),
    ...comparisonErrors,
    409: {
      description: 'The verdict is one of `fail_on`.',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: verdictProblemSchema } },
    },
  },
});

export type CompareCommit = typeof compareCommit;
export type GetVerdict = typeof getVerdict;
