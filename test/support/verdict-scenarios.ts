/**
 * Known-answer data sets for regression verdicts: a reference commit on `master` and a new commit on
 * a feature branch of their own project, uploaded through the API as the qa CLI does, with metric
 * definitions (`loss`: smaller is better; `psnr`, `converged`: larger is better) and optional rules.
 */
import { expect } from 'vitest';
import { postJson, type TestApp } from './app';
import { outputUpload, shaOf } from './uploads';

export const METRIC_DEFINITIONS = {
  available_metrics: {
    loss: { label: 'Loss' },
    psnr: { label: 'PSNR', smaller_is_better: false, suffix: 'dB' },
    converged: { label: 'Converged', smaller_is_better: false },
  },
  main_metrics: ['loss'],
};

export interface Run {
  input: string;
  metrics?: Record<string, unknown>;
  status?: 'running' | 'done' | 'failed';
}

export const REFERENCE_SHA = shaOf(0xa1);
export const NEW_SHA = shaOf(0xb2);

/** `values[i]` as metric `name` of input `inputs/i`. */
export const runsOf = (name: string, values: unknown[]): Run[] => values.map((value, i) => ({ input: `inputs/${i}`, metrics: { [name]: value } }));

export async function uploadRuns(
  app: TestApp,
  spec: { project: string; sha: string; branch: string; runs: Run[]; batch?: string; regressions?: unknown; authored?: string },
) {
  const config = { project: { name: spec.project, reference_branch: 'master' }, ...(spec.regressions !== undefined && { regressions: spec.regressions }) };
  for (const run of spec.runs) {
    const upload = outputUpload({
      project: spec.project,
      sha: spec.sha,
      branch: spec.branch,
      batch: spec.batch,
      input: run.input,
      status: run.status ?? 'done',
      metrics: run.metrics,
      authored: spec.authored,
      extra: { qaboard_config: config, qaboard_metrics: METRIC_DEFINITIONS },
    });
    const response = await postJson(app, '/api/v1/output/', upload);
    expect(response.status, await response.clone().text()).toBe(200);
  }
}

/** A project whose reference (master, an hour earlier) ran `reference` and whose new commit ran `candidate`. */
export async function scenario(app: TestApp, project: string, reference: Run[], candidate: Run[], regressions?: unknown) {
  const hourAgo = new Date(Date.now() - 3600_000).toISOString();
  await uploadRuns(app, { project, sha: REFERENCE_SHA, branch: 'master', runs: reference, regressions, authored: hourAgo });
  await uploadRuns(app, { project, sha: NEW_SHA, branch: 'feature/x', runs: candidate, regressions });
  return { project, referenceSha: REFERENCE_SHA, newSha: NEW_SHA };
}
