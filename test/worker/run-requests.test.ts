/**
 * A run request inside workerd: the tuning route records it and sends it to the Cloudflare queue,
 * the Worker's consumer creates the pipeline on the (fake) GitLab, and the request reads
 * `dispatched` — within 2 s of the POST.
 */
import { env, exports } from 'cloudflare:workers';
import { expect, test } from 'vitest';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';
import { ADMIN_JSON } from './worker-credentials';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`http://qaboard.test${path}`, init));
/** The fake GitLab the Worker is configured with (vitest.config.ts). */
const gitlab = env as unknown as { GITLAB_URL: string; GITLAB_TOKEN: string };
const PROJECT = 'vision/isp-pipeline/denoise';
const SHA = 'c0ffee0123456789c0ffee0123456789c0ffee01';

test('route → queue → consumer → GitLab pipeline: dispatched within 2 s', async () => {
  const upload = { ...(JSON.parse(sample.split('\n')[0]!).json as object), project: PROJECT, project_root: 'vision/isp-pipeline', commit_sha: SHA, git_commit_sha: SHA, commit_branch: 'feature/denoise-v2' };
  expect((await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload) })).status).toBe(200);

  const started = Date.now();
  const tuning = { batch_label: 'worker-sweep', selected_group: 'all', groups: ['extra-batches'], tuning_search: { search_type: 'grid', parameter_search: { gain: [1, 2] } }, overwrite: false };
  const posted = await call(`/api/v1/commit/${SHA}/batch?project=${encodeURIComponent(PROJECT)}`, { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(tuning) });
  expect(posted.status).toBe(202);
  const { id } = (await posted.json()) as { id: number };

  let request: Record<string, any> = {};
  while (Date.now() - started < 10_000 && !['dispatched', 'failed'].includes(request.status)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    request = (await (await call(`/api/v1/run-requests/${id}`)).json()) as Record<string, any>;
  }
  const elapsed = Date.now() - started;
  expect(request).toMatchObject({ status: 'dispatched', error: null, pipeline_id: expect.any(Number) });
  expect(elapsed).toBeLessThan(2000);
  console.log(`run request dispatched ${elapsed} ms after the POST`);

  // The pipeline, as GitLab has it: on the commit's branch, with the variables the CI job reads.
  const variables = (await (
    await fetch(`${gitlab.GITLAB_URL}/api/v4/projects/vision%2Fisp-pipeline/pipelines/${request.pipeline_id}/variables`, {
      headers: { 'PRIVATE-TOKEN': gitlab.GITLAB_TOKEN },
    })
  ).json()) as { key: string; value: string }[];
  const byKey = Object.fromEntries(variables.map((v) => [v.key, v.value]));
  expect(byKey).toMatchObject({ QA_RUN_REQUEST_ID: String(id), QA_RUN_KIND: 'tuning', QA_PROJECT: PROJECT, QA_SUBPROJECT: 'denoise', QA_COMMIT: SHA, QA_BATCH: 'all', QA_ACTION_ON_EXISTING: 'sync' });
});
