/**
 * Regression verdicts inside workerd: the CI gate answers 409, and the upload that completes a batch
 * goes through the Cloudflare queue to the consumer, which posts the commit status to the fake GitLab.
 */
import { exports } from 'cloudflare:workers';
import { expect, inject, test } from 'vitest';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';
import { HEAD_SHA, PARENT_SHA } from '../support/gitlab-fixtures';
import { ADMIN_JSON } from './worker-credentials';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`http://qaboard.test${path}`, init));
const template = JSON.parse(sample.split('\n')[0]!).json as Record<string, unknown>;
const PROJECT = 'worker/gate';

/** As `qa batch`: every output registered as pending, then finished with its loss. */
async function runBatch(sha: string, branch: string, losses: number[]) {
  const upload = (i: number, finished: boolean) => ({
    ...template,
    project: PROJECT,
    project_root: PROJECT,
    commit_sha: sha,
    git_commit_sha: sha,
    commit_branch: branch,
    commit_authored_datetime: new Date(Date.now() - (branch === 'master' ? 3600_000 : 0)).toISOString(),
    input_path: `inputs/${i}`,
    rel_input_path: `inputs/${i}`,
    is_running: !finished,
    is_pending: !finished,
    metrics: finished ? { loss: losses[i] } : undefined,
    qaboard_config: { project: { name: PROJECT, reference_branch: 'master' }, regressions: { gitlab: true } },
    qaboard_metrics: { available_metrics: { loss: { label: 'Loss' } } },
  });
  for (const finished of [false, true]) {
    for (let i = 0; i < losses.length; i++) {
      const response = await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload(i, finished)) });
      expect(response.status).toBe(200);
    }
  }
}

test('the verdict of a completed batch gates CI and reaches GitLab through the queue', async () => {
  await runBatch(PARENT_SHA, 'master', [1, 2, 3, 4, 5, 6]);
  await runBatch(HEAD_SHA, 'feature/gate', [2, 3, 4, 5, 6, 7]);

  const gate = await call(`/api/v1/commit/${HEAD_SHA}/verdict?project=${encodeURIComponent(PROJECT)}&fail_on=regressed`);
  expect(gate.status).toBe(409);
  expect(((await gate.json()) as { verdict: { verdict: string } }).verdict.verdict).toBe('regressed');

  // The consumer runs after the queue's batch timeout: poll the statuses GitLab has for the commit.
  const statusesUrl = `${inject('fakeGitLabUrl')}/api/v4/projects/${encodeURIComponent(PROJECT)}/repository/commits/${HEAD_SHA}/statuses`;
  let statuses: { name: string; status: string; description: string }[] = [];
  for (let i = 0; i < 60 && !statuses.some((s) => s.name === 'qa-board/default'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    statuses = (await (await fetch(statusesUrl, { headers: { 'PRIVATE-TOKEN': inject('fakeGitLabToken') } })).json()) as typeof statuses;
  }
  expect(statuses.find((s) => s.name === 'qa-board/default')).toMatchObject({ status: 'failed', description: expect.stringMatching(/^regressed: loss regressed/) });
});
