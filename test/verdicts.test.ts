/**
 * Regression verdicts on every engine: known-answer data sets uploaded through the API (clear
 * regression, noise only, improvements, larger-is-better and boolean metrics, missing inputs,
 * failed and pending outputs, all ties, n = 1), p-values checked against exact values computed
 * independently here (binomial sums, and every sign assignment of the signed-rank statistic), the
 * ways to name a reference, and the contract of `/compare` and `/verdict` (fail_on → 409).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { shaOf } from './support/uploads';
import { NEW_SHA, REFERENCE_SHA, runsOf, scenario, uploadRuns, type Run } from './support/verdict-scenarios';

type Json = Record<string, any>;

/** P(X ≥ k), X ~ Binomial(n, ½), summed exactly (n ≤ 30: every term is an exact double). */
function binomialUpperTail(k: number, n: number): number {
  let coefficient = 1;
  let sum = 0;
  for (let j = 0; j <= n; j++) {
    if (j >= k) sum += coefficient;
    coefficient = (coefficient * (n - j)) / (j + 1);
  }
  return sum / 2 ** n;
}

/** Exact one-sided p-values of the signed-rank test by enumerating all 2^n signs of the mid-ranked |d| (zeros dropped). */
function enumeratedSignedRank(differences: number[]): { greater: number; less: number } {
  const moved = differences.filter((d) => d !== 0);
  const sizes = moved.map(Math.abs);
  const ranks = sizes.map((a) => sizes.filter((b) => b < a).length + (sizes.filter((b) => b === a).length + 1) / 2);
  const observed = moved.reduce((sum, d, i) => sum + (d > 0 ? ranks[i]! : 0), 0);
  let atLeast = 0;
  let atMost = 0;
  for (let mask = 0; mask < 2 ** moved.length; mask++) {
    const w = ranks.reduce((sum, rank, i) => sum + (mask & (1 << i) ? rank : 0), 0);
    if (w >= observed - 1e-9) atLeast++;
    if (w <= observed + 1e-9) atMost++;
  }
  return { greater: atLeast / 2 ** moved.length, less: atMost / 2 ** moved.length };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const ref12 = range(12).map((i) => i + 1);

describe.each(engineNames)('regression verdicts on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  const get = async (path: string) => {
    const response = await app.request(path);
    return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Json };
  };
  const compare = (project: string, query = '', sha = NEW_SHA) => get(`/api/v1/commit/${sha}/compare?project=${encodeURIComponent(project)}${query}`);
  const verdict = (project: string, query = '', sha = NEW_SHA) => get(`/api/v1/commit/${sha.slice(0, 10)}/verdict?project=${encodeURIComponent(project)}${query}`);

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db, { WEB_APP_URL: 'https://qaboard.example.com/' });
  });
  afterAll(() => database?.close());

  describe('known answers', () => {
    test('clear regression: every input worse beyond the tolerance', async () => {
      const deltas = range(12).map((i) => 0.5 + i / 10);
      const { project } = await scenario(app, 'known/clear-regression', runsOf('loss', ref12), runsOf('loss', ref12.map((r, i) => r + deltas[i]!)), {
        tolerance: { absolute: 0.1 },
      });
      const { status, body } = await compare(project);
      expect(status).toBe(200);
      expect(body.verdict).toBe('regressed');
      expect(body.reference).toEqual({ id: REFERENCE_SHA, batch: 'default', branch: 'master', resolved_from: 'default', requested: 'master' });
      const loss = body.metrics.loss;
      expect(loss).toMatchObject({ status: 'regressed', pairs: 12, regressed: 12, improved: 0, unchanged: 0, smaller_is_better: true, tolerance: { absolute: 0.1 } });
      expect(loss.median_delta).toBeCloseTo(1.05, 12);
      expect(loss.ref.median).toBe(6.5);
      expect(loss.sign_test.n).toBe(12);
      expect(loss.sign_test.p_value.regression).toBeCloseTo(2 ** -12, 15);
      expect(loss.sign_test.p_value.two_sided).toBeCloseTo(2 ** -11, 15);
      expect(loss.sign_test.p_value.improvement).toBe(1);
      expect(loss.signed_rank).toMatchObject({ method: 'exact', n: 12, zeros: 0, worse_rank_sum: 78 });
      expect(loss.signed_rank.p_value.regression).toBeCloseTo(2 ** -12, 15);
      expect(loss.p_regression).toBeCloseTo(2 ** -12, 15);
      expect(body.reasons[0]).toBe('loss regressed: worse on 12 of 12 inputs, better on 0 (median Δ +1.05, p = 0.00024)');
      // Worst first by relative change: +0.5 on a reference of 1.
      expect(body.worst_regressions[0]).toMatchObject({ test_input_path: 'inputs/0', metric: 'loss', new: 1.5, ref: 1, delta: 0.5, relative_delta: 0.5 });
      expect(body.worst_regressions).toHaveLength(10);
      expect(body.url).toBe(`https://qaboard.example.com/known/clear-regression/commit/${NEW_SHA}?reference=${REFERENCE_SHA}`);
    });

    test('noise only: as many inputs better as worse, symmetric sizes → pass, with exact p-values', async () => {
      const deltas = [0.3, -0.3, 0.5, -0.5, 0.7, -0.7, 0.2, -0.2, 0.4, -0.4, 0.6, -0.6];
      const { project } = await scenario(app, 'known/noise', runsOf('loss', range(12).map(() => 10)), runsOf('loss', deltas.map((d) => 10 + d)));
      const { body } = await compare(project);
      expect(body.verdict).toBe('pass');
      const loss = body.metrics.loss;
      expect(loss).toMatchObject({ status: 'unchanged', regressed: 6, improved: 6 });
      expect(loss.sign_test.p_value.regression).toBeCloseTo(binomialUpperTail(6, 12), 12); // 2510/4096
      expect(loss.sign_test.p_value.regression).toBeCloseTo(2510 / 4096, 12);
      const exact = enumeratedSignedRank(deltas.map((d) => Number((10 + d - 10).toFixed(12))));
      expect(loss.signed_rank.worse_rank_sum).toBe(39);
      expect(loss.signed_rank.p_value.regression).toBeCloseTo(exact.greater, 12);
      expect(loss.signed_rank.p_value.improvement).toBeCloseTo(exact.less, 12);
      expect(body.reasons).toEqual(['no significant change on 1 metric over 12 paired inputs']);
      expect(body.pairs).toHaveLength(12); // all moved beyond 1%
    });

    test('improvements: 10 inputs better, 2 within the tolerance → improved', async () => {
      const reference = ref12.map((r) => r + 10);
      const candidate = reference.map((r, i) => (i < 10 ? r - (1 + i / 10) : r + 0.05));
      const { project } = await scenario(app, 'known/improvements', runsOf('loss', reference), runsOf('loss', candidate));
      const { body } = await compare(project);
      expect(body.verdict).toBe('improved');
      const loss = body.metrics.loss;
      expect(loss).toMatchObject({ status: 'improved', improved: 10, regressed: 0, unchanged: 2 });
      expect(loss.sign_test.n).toBe(10);
      expect(loss.sign_test.p_value.improvement).toBeCloseTo(2 ** -10, 15);
      const exact = enumeratedSignedRank(candidate.map((c, i) => c - reference[i]!));
      expect(loss.signed_rank.worse_rank_sum).toBe(3); // the two +0.05 share ranks 1 and 2
      expect(loss.signed_rank.p_value.improvement).toBeCloseTo(exact.less, 12);
      expect(loss.p_improvement).toBeCloseTo(Math.max(2 ** -10, exact.less), 12);
      expect(body.reasons[0]).toMatch(/^loss improved: better on 10 of 12 inputs, worse on 0/);
    });

    test('larger-is-better metrics: lower PSNR regresses, higher improves; booleans count as 0/1', async () => {
      const reference = ref12.map((r) => 30 + r / 2);
      const lower = await scenario(app, 'known/psnr-lower', runsOf('psnr', reference), runsOf('psnr', reference.map((r) => r - 1)));
      const { body } = await compare(lower.project, '&metrics=psnr');
      expect(body.verdict).toBe('regressed');
      // Every |d| ties: mid-rank 6.5 each, oriented towards worse W+ = 78: only the all-worse assignment reaches it.
      expect(body.metrics.psnr).toMatchObject({ status: 'regressed', regressed: 12, smaller_is_better: false, suffix: 'dB', median_delta: -1 });
      expect(body.metrics.psnr.signed_rank).toMatchObject({ worse_rank_sum: 78, method: 'exact' });
      expect(body.metrics.psnr.signed_rank.p_value.regression).toBeCloseTo(2 ** -12, 15);
      expect(body.reasons[0]).toContain('median Δ -1dB');

      const higher = await scenario(app, 'known/psnr-higher', runsOf('psnr', reference), runsOf('psnr', reference.map((r) => r + 1)));
      expect((await compare(higher.project, '&metrics=psnr')).body).toMatchObject({ verdict: 'improved', metrics: { psnr: { improved: 12 } } });

      const booleans = await scenario(app, 'known/converged', runsOf('converged', range(12).map(() => true)), runsOf('converged', range(12).map(() => false)));
      const converged = (await compare(booleans.project, '&metrics=converged')).body;
      expect(converged.metrics.converged).toMatchObject({ status: 'regressed', regressed: 12, median_delta: -1, new: { median: 0 }, ref: { median: 1 } });
    });

    test('metric values come back to the last bit; strings, nulls, objects and arrays are no value', async () => {
      const numbers = [0.1 + 0.2, 1 / 3, 1e-300, 2 ** 53 + 2, -123456789.12345679, 1.7976931348623157e308];
      const reference = [...numbers, 'n/a', null, { value: 1 }, [1]];
      const { project } = await scenario(app, 'known/value-types', runsOf('loss', reference), runsOf('loss', reference.map((v) => (typeof v === 'number' ? v / 3 : v))));
      const { body } = await compare(project, '&pairs=all');
      expect(body.metrics.loss).toMatchObject({ pairs: numbers.length, new_values: numbers.length, ref_values: numbers.length });
      expect(body.pairs.map((p: Json) => [p.test_input_path, p.metrics.loss.ref, p.metrics.loss.new])).toEqual(numbers.map((v, i) => [`inputs/${i}`, v, v / 3]));
    });

    test('inputs missing on either side are listed; missing reference inputs make the verdict incomplete', async () => {
      const reference = runsOf('loss', ref12);
      const candidate = [...reference.slice(0, 10), { input: 'inputs/added', metrics: { loss: 3 } }];
      const { project } = await scenario(app, 'known/missing', reference, candidate);
      const { body } = await compare(project);
      expect(body.verdict).toBe('incomplete');
      expect(body.counts).toMatchObject({ paired: 10, missing_in_new: 2, missing_in_reference: 1 });
      expect(body.reasons).toContain('2 inputs of the reference missing from this batch');
      // By output id: this batch's, then the reference's for the runs missing here.
      expect(body.unpaired.map((u: Json) => [u.test_input_path, u.new, u.reference])).toEqual([
        ['inputs/added', 'valid', 'missing'],
        ['inputs/10', 'missing', 'valid'],
        ['inputs/11', 'missing', 'valid'],
      ]);
      expect(body.unpaired[1]).toMatchObject({ new_output_id: null, ref_output_id: expect.any(Number), platform: 'linux' });
    });

    test('failed outputs are listed on both sides; failures of this batch make it incomplete', async () => {
      const reference: Run[] = runsOf('loss', ref12).map((run, i) => (i === 3 ? { ...run, status: 'failed' } : run));
      const candidate: Run[] = runsOf('loss', ref12).map((run, i) => (i === 5 ? { ...run, status: 'failed' } : run));
      const { project } = await scenario(app, 'known/failed', reference, candidate);
      const { body } = await compare(project);
      expect(body.verdict).toBe('incomplete');
      expect(body.counts).toMatchObject({ paired: 10, failed_in_new: 1, failed_in_reference: 1, missing_in_new: 0 });
      expect(body.reasons).toEqual(['1 output of this batch failed']);
      expect(body.unpaired.map((u: Json) => [u.test_input_path, u.new, u.reference])).toEqual([
        ['inputs/3', 'valid', 'failed'],
        ['inputs/5', 'failed', 'valid'],
      ]);
    });

    test('an output still running makes the verdict incomplete', async () => {
      const candidate: Run[] = runsOf('loss', ref12).map((run, i) => (i === 0 ? { input: run.input, status: 'running' } : run));
      const { project } = await scenario(app, 'known/pending', runsOf('loss', ref12), candidate);
      const { body } = await verdict(project);
      expect(body).toMatchObject({ verdict: 'incomplete', counts: { pending_in_new: 1, paired: 11 } });
    });

    test('all ties: nothing moved → pass, both tests at p = 1', async () => {
      const { project } = await scenario(app, 'known/ties', runsOf('loss', ref12), runsOf('loss', ref12));
      const { body } = await compare(project);
      expect(body.verdict).toBe('pass');
      expect(body.metrics.loss).toMatchObject({
        status: 'unchanged',
        unchanged: 12,
        median_delta: 0,
        sign_test: { n: 0, p_value: { two_sided: 1, regression: 1, improvement: 1 } },
        signed_rank: { n: 0, zeros: 12, worse_rank_sum: 0, p_value: { two_sided: 1, regression: 1, improvement: 1 } },
      });
      expect(body.pairs).toEqual([]); // `changed` lists nothing
      const all = (await compare(project, '&pairs=all')).body.pairs;
      expect(all).toHaveLength(12);
      expect(all[0]).toMatchObject({ test_input_path: 'inputs/0', metrics: { loss: { new: 1, ref: 1, delta: 0, relative_delta: 0, outcome: 'same' } } });
      expect((await compare(project, '&pairs=none')).body).toMatchObject({ pairs: [], pairs_total: 0 });
      const page = (await compare(project, '&pairs=all&offset=10&limit=5')).body;
      expect(page.pairs_total).toBe(12);
      expect(page.pairs.map((p: Json) => p.test_input_path)).toEqual(['inputs/10', 'inputs/11']);
    });

    test('n = 1: below min_pairs → incomplete; with min_pairs 1 a single pair proves nothing → pass', async () => {
      const single = await scenario(app, 'known/single', runsOf('loss', [1]), runsOf('loss', [5]));
      const { body } = await compare(single.project);
      expect(body).toMatchObject({ verdict: 'incomplete', metrics: { loss: { status: 'insufficient', pairs: 1, regressed: 1 } } });
      expect(body.reasons).toEqual(['loss: only 1 paired input (min_pairs: 5)']);

      const allowed = await scenario(app, 'known/single-allowed', runsOf('loss', [1]), runsOf('loss', [5]), { min_pairs: 1 });
      const answer = (await compare(allowed.project)).body;
      expect(answer).toMatchObject({ verdict: 'pass', metrics: { loss: { status: 'unchanged', sign_test: { p_value: { regression: 0.5 } } } } });
    });

    test('the significance is shared by the metrics tested (Bonferroni)', async () => {
      // 5 inputs all worse: p = 2^-5 = 0.031 for each test. Alone: < 0.05. With a second metric tested: not < 0.025.
      const reference = range(5).map((i) => ({ input: `inputs/${i}`, metrics: { loss: i + 1, psnr: 30 } }));
      const candidate = range(5).map((i) => ({ input: `inputs/${i}`, metrics: { loss: i + 2, psnr: 30 } }));
      const { project } = await scenario(app, 'known/bonferroni', reference, candidate);
      expect((await compare(project, '&metrics=loss')).body).toMatchObject({ verdict: 'regressed', rules: { per_metric_significance: 0.05 } });
      const both = (await compare(project, '&metrics=loss,psnr')).body;
      expect(both).toMatchObject({ verdict: 'pass', rules: { per_metric_significance: 0.025 }, metrics: { loss: { status: 'unchanged' } } });
      expect(both.metrics.loss.p_regression).toBeCloseTo(2 ** -5, 15);
    });
  });

  describe('naming the reference', () => {
    const project = 'refs/repo';
    const labelled = (sha: string, branch: string, value: number, batch?: string, authored?: string) =>
      uploadRuns(app, { project, sha, branch, batch, authored, runs: runsOf('loss', range(6).map(() => value)) });

    beforeAll(async () => {
      const at = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
      await labelled(shaOf(0x100), 'master', 1, undefined, at(5));
      await labelled(shaOf(0x200), 'master', 2, undefined, at(4));
      await labelled(shaOf(0x200), 'master', 7, 'tuning', at(4));
      await labelled(shaOf(0x300), 'release', 3, undefined, at(3));
      await labelled(shaOf(0x400), 'master', 4, undefined, at(2)); // the commit compared, itself on master
      await database.db.execute(sql`UPDATE projects SET data = data || jsonb_build_object('milestones', jsonb_build_object(
        ${`${project}/${shaOf(0x100)}/default`}::text, jsonb_build_object('label', 'v1', 'commit', ${shaOf(0x100)}::text, 'batch', 'default')))
        WHERE id = ${project}`);
    });
    const referenceOf = async (query: string) => {
      const { status, body } = await verdict(project, query, shaOf(0x400));
      expect(status, JSON.stringify(body)).toBe(200);
      return [body.reference.id, body.reference.resolved_from, body.metrics.loss.median_delta];
    };

    test('default: the latest other commit with results on the reference branch', async () => {
      expect(await referenceOf('')).toEqual([shaOf(0x200), 'default', 2]);
    });
    test('a hexsha prefix, a branch, a milestone key, and another batch', async () => {
      expect(await referenceOf(`&reference=${shaOf(0x100).slice(0, 7)}`)).toEqual([shaOf(0x100), 'commit', 3]);
      expect(await referenceOf('&reference=release')).toEqual([shaOf(0x300), 'branch', 1]);
      expect(await referenceOf(`&reference=${encodeURIComponent(`${project}/${shaOf(0x100)}/default`)}`)).toEqual([shaOf(0x100), 'milestone', 3]);
      expect(await referenceOf(`&reference=${shaOf(0x200)}&reference_batch=tuning`)).toEqual([shaOf(0x200), 'commit', -3]);
    });
    test("a milestone of another project: runs paired on the input's database and path, not on its id", async () => {
      await uploadRuns(app, { project: 'refs/other', sha: shaOf(0x600), branch: 'master', runs: runsOf('loss', range(6).map(() => 10)) });
      const key = `refs/other/${shaOf(0x600)}/default`;
      await database.db.execute(sql`UPDATE projects SET data = jsonb_set(data, '{milestones}', data -> 'milestones' || jsonb_build_object(
        ${key}::text, jsonb_build_object('commit', ${shaOf(0x600)}::text, 'batch', 'default', 'project', 'refs/other'))) WHERE id = ${project}`);
      const { body } = await verdict(project, `&reference=${encodeURIComponent(key)}`, shaOf(0x400));
      expect(body).toMatchObject({ reference: { id: shaOf(0x600), resolved_from: 'milestone' }, counts: { paired: 6 }, metrics: { loss: { median_delta: -6 } } });
    });

    test('a reference that names nothing → 404; a project without any reference → incomplete, not an error', async () => {
      for (const reference of ['nope', 'deadbeef', `${shaOf(0x100)}&reference_batch=nope`]) {
        const { status, type } = await verdict(project, `&reference=${reference}`, shaOf(0x400));
        expect([reference, status, type]).toEqual([reference, 404, 'application/problem+json']);
      }
      await uploadRuns(app, { project: 'refs/lonely', sha: shaOf(0x500), branch: 'feature', runs: runsOf('loss', [1, 2, 3, 4, 5]) });
      const { status, body } = await verdict('refs/lonely', '', shaOf(0x500));
      expect(status).toBe(200);
      expect(body).toMatchObject({ verdict: 'incomplete', reference: null, counts: { missing_in_reference: 5 } });
      expect(body.reasons).toEqual(['no reference: no other commit on master has results in batch default']);
    });
  });

  describe('the contract', () => {
    const project = 'known/contract';
    beforeAll(async () => {
      await scenario(app, project, runsOf('loss', ref12), runsOf('loss', ref12.map((r) => r * 2)));
    });

    test('fail_on: a listed verdict answers 409 with the verdict in the problem; others 200', async () => {
      const failed = await verdict(project, '&fail_on=regressed');
      expect(failed.status).toBe(409);
      expect(failed.type).toBe('application/problem+json');
      expect(failed.body.detail).toMatch(/^Verdict: regressed\. loss regressed: worse on 12 of 12 inputs/);
      expect(failed.body.verdict).toMatchObject({ verdict: 'regressed', metrics: { loss: { status: 'regressed' } } });
      expect((await verdict(project, '&fail_on=incomplete,improved')).status).toBe(200);
      const ok = await verdict(project);
      expect(ok.status).toBe(200);
      expect(Object.keys(ok.body).sort()).toEqual(['commit', 'counts', 'metrics', 'project', 'reasons', 'reference', 'url', 'verdict', 'worst_regressions']);
      expect(Object.keys(ok.body.metrics.loss).sort()).toEqual(['improved', 'median_delta', 'p_improvement', 'p_regression', 'pairs', 'regressed', 'status']);
      expect((await verdict('known/single', '&fail_on=regressed,incomplete')).status).toBe(409);
    });

    test('bad parameters → 400 naming the field', async () => {
      for (const [query, field] of [
        ['&fail_on=broken', 'fail_on'],
        ['&metrics=unknown_metric', 'metrics'],
        ['&pairs=some', 'pairs'],
        ['&limit=0', 'limit'],
        ['&offset=-1', 'offset'],
        ['&metrics=,', 'metrics'],
      ] as const) {
        const path = /^&(pairs|limit|offset)=/.test(query) ? compare(project, query) : verdict(project, query);
        const { status, body } = await path;
        expect([query, status, body.errors?.map((e: Json) => e.field)]).toEqual([query, 400, [field]]);
      }
      expect((await get(`/api/v1/commit/${NEW_SHA}/verdict`)).body.errors.map((e: Json) => e.field)).toEqual(['project']);
    });

    test('unknown commit or batch → 404', async () => {
      expect((await verdict(project, '', 'fedcba98')).status).toBe(404);
      expect((await verdict(project, '&batch=nope')).status).toBe(404);
      expect((await verdict('no/such-project')).status).toBe(404);
    });

    test("an invalid `regressions:` section of the project's qaboard.yaml → 422 naming the field", async () => {
      await scenario(app, 'known/bad-rules', runsOf('loss', [1]), runsOf('loss', [1]), { significance: 2, tolerances: {} });
      const { status, body } = await verdict('known/bad-rules');
      expect(status).toBe(422);
      expect(body.errors.map((e: Json) => e.field).sort()).toEqual(['regressions', 'regressions.significance']);
      await scenario(app, 'known/unknown-metric-rule', runsOf('loss', [1]), runsOf('loss', [1]), { metrics: { speed: {} } });
      expect((await verdict('known/unknown-metric-rule')).body.errors).toEqual([
        { field: 'regressions.metrics.speed', message: "not in the project's metric definitions (available_metrics)" },
      ]);
    });

    test('per-metric tolerances from the rules', async () => {
      const { project: tolerant } = await scenario(app, 'known/tolerant', runsOf('loss', ref12), runsOf('loss', ref12.map((r) => r + 0.5)), {
        metrics: { loss: { absolute: 1 } },
      });
      const { body } = await compare(tolerant);
      expect(body).toMatchObject({ verdict: 'pass', metrics: { loss: { tolerance: { absolute: 1 }, unchanged: 12, regressed: 0 } } });
      // Wilcoxon alone sees 12 of 12 worse: the tolerance, through the sign test, is what keeps it from regressing.
      expect(body.metrics.loss.signed_rank.p_value.regression).toBeLessThan(0.001);
    });
  });
});
