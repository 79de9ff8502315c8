/**
 * A batch of a commit compared with its reference, per metric and per input: the comparison
 * behind `GET /api/v1/commit/:id/compare`, the verdict of `…/verdict`, and what is posted to GitLab.
 * Pairing in SQL (paired-outputs.ts), statistics by `compareMetric`, verdict by the rules of
 * verdict.ts under the project's `regressions:` settings (regression-rules.ts).
 */
import type { Db } from '../../db/client';
import { ApiError, invalidField, notFound } from '../../lib/problem';
import { mainMetricNames, metricDefinitions, type MetricDefinition } from '../projects/metric-definitions';
import { commitByPrefix } from '../read/commits';
import { formatMetric } from './metric-format';
import { classifyPairs, runJson, type PairPage } from './pair-listing';
import { pairedOutputs, runIdentities, type OutputPair } from './paired-outputs';
import { batchOfCommit, resolveReference, type Reference } from './reference';
import { metricComparisonJson, type ComparisonJson } from './comparison-json';
import { regressionRules, type RegressionRules } from './regression-rules';
import { compareMetric, type MetricRule } from './statistics';
import { decideVerdict, isTested, metricStatus, type OutputCounts } from './verdict';

type Json = Record<string, unknown>;

export interface CompareQuery {
  projectId: string;
  /** A hexsha or a prefix of it. */
  commit: string;
  batch: string;
  /** A milestone key, a hexsha prefix or a branch (see reference.ts); default: the reference branch. */
  reference?: string;
  /** Default: `batch`. */
  referenceBatch?: string;
  /** Default: the rules' metrics, else the project's main metrics, else all its metrics. */
  metrics?: string[];
  /** Which paired inputs to list, a page of them. */
  page: PairPage;
  canSeeProject(projectId: string): boolean;
  /** The web app's base URL, for links to the commit page. */
  webAppUrl?: string;
}

const WORST_LISTED = 10;
/** Unpaired runs listed at most (`counts` has them all). */
const UNPAIRED_LISTED = 1000;

interface ComparedMetric {
  definition: MetricDefinition;
  rule: MetricRule;
}

/** The metrics that decide, each with its direction and tolerance. Unknown names are refused. */
function comparedMetrics(projectData: Json, rules: RegressionRules, requested: string[] | undefined): ComparedMetric[] {
  const definitions = metricDefinitions(projectData);
  const configured = rules.metrics && [...rules.metrics.keys()];
  const main = mainMetricNames(projectData).filter((name) => definitions.has(name));
  const names = [...new Set(requested ?? configured ?? (main.length ? main : [...definitions.keys()]))];
  const unknown = names.filter((name) => !definitions.has(name));
  if (unknown.length && requested) throw invalidField('metrics', `not in the project's metric definitions (available_metrics): ${unknown.join(', ')}`);
  if (unknown.length) {
    const errors = unknown.map((name) => ({ field: `regressions.metrics.${name}`, message: "not in the project's metric definitions (available_metrics)" }));
    throw new ApiError(422, `The project's qaboard.yaml has invalid regression rules: ${errors.map((e) => e.field).join(', ')} not defined`, { errors });
  }
  return names.map((name) => {
    const definition = definitions.get(name)!;
    return { definition, rule: { smallerIsBetter: definition.smallerIsBetter, tolerance: rules.metrics?.get(name) ?? rules.tolerance } };
  });
}

function outputCounts(pairs: OutputPair[]): OutputCounts {
  const counts: OutputCounts = {
    paired: 0,
    missing_in_new: 0,
    missing_in_reference: 0,
    failed_in_new: 0,
    failed_in_reference: 0,
    pending_in_new: 0,
    pending_in_reference: 0,
  };
  for (const { newState, refState } of pairs) {
    if (newState === 'valid' && refState === 'valid') counts.paired++;
    if (newState !== 'valid') counts[`${newState}_in_new`]++;
    if (refState !== 'valid') counts[`${refState}_in_reference`]++;
  }
  return counts;
}

/** The web app's commit page, showing the comparison (its query: `reference`, `batch`, `batch_ref`). */
function commitPageUrl(webAppUrl: string | undefined, projectId: string, hexsha: string, batch: string, reference: Reference | null): string | null {
  if (!webAppUrl) return null;
  const query = new URLSearchParams();
  if (reference) query.set('reference', reference.commit.hexsha);
  if (batch !== 'default') query.set('batch', batch);
  if (reference && reference.label !== batch) query.set('batch_ref', reference.label);
  const path = projectId.split('/').map(encodeURIComponent).join('/');
  return `${webAppUrl}/${path}/commit/${hexsha}${query.size ? `?${query}` : ''}`;
}

export async function compareCommit(db: Db, query: CompareQuery): Promise<ComparisonJson> {
  const commit = await commitByPrefix(db, query.projectId, query.commit);
  if (!commit) throw notFound(`Sorry, we could not find any data on commit ${query.commit} in project ${query.projectId}.`);
  const project = { id: commit.projectId, data: commit.projectData };
  const rules = regressionRules(project.data.qatools_config);
  const metrics = comparedMetrics(project.data, rules, query.metrics);
  const [compared, resolved] = await Promise.all([
    batchOfCommit(db, commit, query.batch),
    resolveReference(db, {
      project,
      newHexsha: commit.hexsha,
      reference: query.reference,
      referenceBatch: query.referenceBatch ?? query.batch,
      canSeeProject: query.canSeeProject,
    }),
  ]);
  if (!compared) throw notFound(`Commit ${commit.hexsha} has no batch ${query.batch}.`);
  const reference = 'missing' in resolved ? null : resolved;
  const paired = await pairedOutputs(db, compared.batchId, reference?.batchId ?? null, metrics.map((m) => m.definition.name));

  const comparisons = metrics.map(({ rule }, m) => compareMetric(paired.metrics[m]!, rule));
  const tested = comparisons.filter((c) => isTested(c, rules.minPairs)).length;
  const alpha = rules.significance / Math.max(1, tested);
  const statuses = comparisons.map((c) => metricStatus(c, rules.minPairs, alpha));
  const counts = outputCounts(paired.pairs);
  const { verdict, reasons } = decideVerdict({
    metrics: metrics.map(({ definition }, m) => ({
      name: definition.name,
      status: statuses[m]!,
      comparison: comparisons[m]!,
      formatDelta: (delta) => formatMetric(delta, definition, { signed: true }),
    })),
    counts,
    missingReference: 'missing' in resolved ? resolved.missing : undefined,
    minPairs: rules.minPairs,
  });

  const classified = classifyPairs(paired, metrics.map((m) => m.rule), query.page, WORST_LISTED);
  const unpaired = paired.pairs.filter((pair) => pair.newState !== 'valid' || pair.refState !== 'valid').slice(0, UNPAIRED_LISTED);
  const outputIdOf = (pair: OutputPair) => (pair.newOutputId ?? pair.refOutputId)!;
  const shownPairs = [...classified.listed, ...classified.worst.map((w) => w.pair)].map((i) => paired.pairs[i]!);
  const identities = await runIdentities(db, [...new Set([...shownPairs, ...unpaired].map(outputIdOf))]);
  const runOf = (pair: OutputPair) => runJson(identities.get(outputIdOf(pair))!);

  return {
    verdict,
    reasons,
    project: project.id,
    commit: { id: commit.hexsha, batch: compared.label, branch: commit.branch },
    reference: reference && {
      id: reference.commit.hexsha,
      batch: reference.label,
      branch: reference.commit.branch,
      resolved_from: reference.resolvedFrom,
      requested: reference.requested,
    },
    rules: { significance: rules.significance, per_metric_significance: alpha, min_pairs: rules.minPairs, fail_on: rules.failOn },
    counts,
    metrics: Object.fromEntries(
      metrics.map(({ definition, rule }, m) => [definition.name, metricComparisonJson(definition, rule, statuses[m]!, comparisons[m]!, paired.metrics[m]!)]),
    ),
    worst_regressions: classified.worst.map(({ pair, metric }) => {
      const values = paired.metrics[metric]!;
      const { new: newValue, ref, delta, relative_delta } = classified.valuesOf(pair)[values.name]!;
      return { ...runOf(paired.pairs[pair]!), metric: values.name, new: newValue, ref, delta, relative_delta };
    }),
    pairs_total: classified.listedTotal,
    pairs: classified.listed.map((i) => {
      const pair = paired.pairs[i]!;
      return { ...runOf(pair), new_output_id: pair.newOutputId!, ref_output_id: pair.refOutputId!, metrics: classified.valuesOf(i) };
    }),
    unpaired: unpaired.map((pair) => ({ ...runOf(pair), new_output_id: pair.newOutputId, ref_output_id: pair.refOutputId, new: pair.newState, reference: pair.refState })),
    url: commitPageUrl(query.webAppUrl, project.id, commit.hexsha, compared.label, reference),
  };
}
