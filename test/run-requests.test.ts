/**
 * Run requests end to end against a fake GitLab: the web app asks (tuning, redo, save-artifacts),
 * the queue's consumer creates a pipeline with the variables the CI job reads, uploads carrying
 * the request's command id move it to running, its batch completing moves it to done; GitLab's
 * refusals fail it with GitLab's reason, its 5xx are retried, cancelling cancels the pipeline.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { inProcessRunRequestQueue } from '../src/gitlab/in-process-gitlab-queue';
import type { RunRequestJob } from '../src/gitlab/run-request-jobs';
import type { InProcessQueue } from '../src/jobs/in-process-queue';
import { reapStaleRuns } from '../src/maintenance/reap-stale-runs';
import { postJson, testApp, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { startFakeGitLab, type FakeGitLab, type FakePipeline } from './support/fake-gitlab';
import { HEAD_SHA, ispPipelineRepository, PARENT_SHA } from './support/gitlab-fixtures';
import { outputUpload, type UploadSpec } from './support/uploads';

type Json = Record<string, any>;
const PROJECT = 'vision/isp-pipeline';
const q = encodeURIComponent;
const CONFIG = {
  project: { name: PROJECT, reference_branch: 'master' },
  inputs: { database: { linux: '/mnt/datasets/isp' }, batches: ['qa/batches.yaml'] },
};
const COMMIT_BATCHES = 'night:\n  configurations: [base]\n  inputs:\n    - scenes/night/0001.dng\naliases:\n  nightly: [night, day]\n';
const TUNING = {
  project: PROJECT,
  batch_label: 'sweep',
  platform: 'linux',
  configuration: 'xxxxxxxxx',
  tuning_search: { search_type: 'grid', search_options: {}, parameter_search: { strength: [0.3, 0.5] } },
  selected_group: 'nightly',
  groups: ['extra-batches', 'ada'],
  user: 'ada',
  android_device: 'openstf',
  overwrite: true,
};

describe.each(engineNames)('run requests on %s', (engine) => {
  let database: TestDatabase;
  let gitlab: FakeGitLab;
  let queue: InProcessQueue<RunRequestJob>;
  let app: TestApp;

  const upload = async (spec: UploadSpec, extra: Json = {}) => {
    const response = await postJson(app, '/api/v1/output/', outputUpload({ project: PROJECT, sha: HEAD_SHA, branch: 'feature/denoise-v2', ...spec, extra: { qaboard_config: CONFIG, ...extra, ...spec.extra } }));
    expect(response.status).toBe(200);
    return (await response.json()) as Json;
  };
  const runRequest = async (id: number) => (await (await app.request(`/api/v1/run-requests/${id}`)).json()) as Json;
  const commit = async () => (await (await app.request(`/api/v1/commit/${HEAD_SHA}?project=${q(PROJECT)}`)).json()) as Json;
  const variablesOf = (pipeline: FakePipeline) => Object.fromEntries(pipeline.variables.map((v) => [v.key, v.value]));
  const ask = async (path: string, body: unknown) => {
    const response = await postJson(app, path, body);
    expect(response.status, await response.clone().text()).toBe(202);
    const request = (await response.json()) as Json;
    expect(request.status).toBe('queued');
    await queue.idle();
    return request;
  };
  const tune = (body: Json = TUNING) => ask(`/api/v1/commit/${HEAD_SHA.slice(0, 10)}/batch?project=${q(PROJECT)}`, body);

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    gitlab = await startFakeGitLab([ispPipelineRepository()]);
  });
  beforeEach(async () => {
    await emptyTables(database.db);
    const repository = ispPipelineRepository();
    repository.files['qa/batches.yaml'] = COMMIT_BATCHES;
    gitlab.repositories.set(PROJECT, repository);
    gitlab.requests.length = 0;
    gitlab.pipelines.length = 0;
    gitlab.failures = [];
    queue = inProcessRunRequestQueue(database.db, { url: gitlab.url, token: gitlab.token, timeoutMs: 5000, retryDelayMs: 1 }, { delayScale: 0, maxRetries: 2 });
    app = testApp(database.db, { GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token }, { runRequestQueue: queue });
  });
  afterAll(async () => {
    await gitlab?.close();
    await database?.close();
  });

  test('a tuning request travels queued → dispatched → running → done', async () => {
    await upload({ input: 'scenes/day/0001.dng' });
    const stored = 'day:\n  inputs: [scenes/day/0001.dng]\n';
    expect((await postJson(app, `/api/v1/tests/groups?project=${q(PROJECT)}&name=ada`, { project: PROJECT, groups: stored })).status).toBe(200);

    const request = await tune();
    expect(request).toMatchObject({ kind: 'tuning', project_id: PROJECT, commit: HEAD_SHA, batch_label: 'sweep', requested_by: 'anonymous' });
    expect(request.parameters).toMatchObject({ selected_group: 'nightly', groups: ['extra-batches', 'ada'], overwrite: true, user: 'ada' });
    expect(Object.keys((await commit()).batches)).toContain('sweep'); // shown at once, as the original did

    const dispatched = await runRequest(request.id);
    expect(dispatched).toMatchObject({ status: 'dispatched', pipeline_id: expect.any(Number), pipeline_url: expect.stringContaining('/-/pipelines/') });
    expect(gitlab.pipelines).toHaveLength(1);
    const pipeline = gitlab.pipelines[0]!;
    expect(pipeline).toMatchObject({ project: PROJECT, ref: 'feature/denoise-v2', id: dispatched.pipeline_id });
    const variables = variablesOf(pipeline);
    expect(variables).toMatchObject({
      QA_RUN_REQUEST_ID: String(request.id),
      QA_RUN_KIND: 'tuning',
      QA_PROJECT: PROJECT,
      QA_SUBPROJECT: '.',
      QA_COMMIT: HEAD_SHA,
      QA_BATCH_COMMAND_ID: request.command_id,
      QA_BATCH_LABEL: 'sweep',
      QA_BATCH: 'nightly',
      QA_ACTION_ON_EXISTING: 'run',
      QA_PLATFORM: 'linux',
      QABOARD_TUNING: 'true',
    });
    expect(JSON.parse(variables.QA_TUNING_SEARCH!)).toEqual(TUNING.tuning_search);
    expect(pipeline.variables.find((v) => v.key === 'QA_BATCHES')!.variable_type).toBe('file');
    // The commit's batches file, then the stored groups, merged; only what `nightly` needs.
    expect(parse(variables.QA_BATCHES!)).toEqual({
      aliases: { nightly: ['night', 'day'] },
      night: { configurations: ['base'], inputs: ['scenes/night/0001.dng'] },
      day: { inputs: ['scenes/day/0001.dng'] },
    });

    // qa batch reports its command, then its runs (pending, then finished): runs carry the command id.
    const batchUpload = { project: PROJECT, commit_sha: HEAD_SHA, batch_label: 'sweep', command: { [request.command_id]: { argv: ['qa', 'batch'] } } };
    expect((await postJson(app, '/api/v1/batch/', batchUpload)).status).toBe(200);
    expect((await runRequest(request.id)).status).toBe('dispatched'); // no run yet: the batch must not complete empty
    const tagged = { data: { job_options: { command_id: request.command_id } } };
    await upload({ batch: 'sweep', input: 'scenes/night/0001.dng', status: 'running', extra: tagged });
    expect((await runRequest(request.id)).status).toBe('running');
    await upload({ batch: 'sweep', input: 'scenes/day/0001.dng', status: 'running', extra: tagged });
    await upload({ batch: 'sweep', input: 'scenes/night/0001.dng', status: 'done' });
    expect((await runRequest(request.id)).status).toBe('running');
    await upload({ batch: 'sweep', input: 'scenes/day/0001.dng', status: 'done' });
    const done = await runRequest(request.id);
    expect(done).toMatchObject({ status: 'done', error: null });
    expect(Date.parse(done.finished_at)).toBeGreaterThanOrEqual(Date.parse(done.started_at));
  });

  test('runs finishing at the same moment still complete the batch (each sees the others pending)', async () => {
    await upload({});
    const request = await tune();
    const inputs = Array.from({ length: 12 }, (_, i) => `scenes/${i}.dng`);
    const tagged = { data: { job_options: { command_id: request.command_id } } };
    for (const input of inputs) await upload({ batch: 'sweep', input, status: 'running', extra: tagged });
    expect((await runRequest(request.id)).status).toBe('running');
    await Promise.all(inputs.map((input) => upload({ batch: 'sweep', input, status: 'done' })));
    expect((await runRequest(request.id)).status).toBe('done');
  });

  test('a redo of failed outputs runs them again, and only them', async () => {
    await upload({ input: 'a.jpg', status: 'failed', extra: { configurations: ['base', { denoise: 0.5 }], extra_parameters: { gain: 2 } } });
    await upload({ input: 'b.jpg', status: 'done' });
    const batch = (await commit()).batches.default;
    const request = await ask('/api/v1/batch/redo/', { id: batch.id, only_failed: true });
    expect(request).toMatchObject({ kind: 'redo-batch', batch_id: batch.id, batch_label: 'default', parameters: { only_failed: true, only_deleted: false } });
    const variables = variablesOf(gitlab.pipelines[0]!);
    expect(variables).toMatchObject({ QA_RUN_KIND: 'redo-batch', QA_BATCH: 'qa-redo', QA_ACTION_ON_EXISTING: 'skip', QA_BATCH_LABEL: 'default' });
    expect(parse(variables.QA_BATCHES!)).toEqual({
      aliases: { 'qa-redo': ['qa-redo-linux'] },
      'qa-redo-linux': {
        platform: 'linux',
        configurations: [],
        inputs: [{ 'a.jpg': { database: expect.any(String), platform: 'linux', type: 'default', configurations: ['base', { denoise: 0.5 }] } }],
      },
    });
    expect(JSON.parse(variables.QA_TUNING_SEARCH!)).toEqual({ search_type: 'grid', parameter_search: [{ gain: [2] }] });
  });

  test('a redo of one output, and save-artifacts, are dispatched too', async () => {
    const output = await upload({ input: 'c.jpg', status: 'done' });
    const redo = await ask(`/api/v1/output/redo/${output.id}/`, { is_pending: false, is_running: false });
    expect(redo).toMatchObject({ kind: 'redo-output', parameters: { output_id: output.id } });
    expect(parse(variablesOf(gitlab.pipelines[0]!).QA_BATCHES!)['qa-redo-linux'].inputs).toHaveLength(1);

    const save = await ask('/api/v1/commit/save-artifacts/', { hexsha: HEAD_SHA, project: PROJECT });
    expect(save).toMatchObject({ kind: 'save-artifacts', batch_id: null, batch_label: null });
    const variables = variablesOf(gitlab.pipelines[1]!);
    expect(variables.QA_RUN_KIND).toBe('save-artifacts');
    expect(variables.QA_BATCHES).toBeUndefined();
    expect((await runRequest(save.id)).status).toBe('dispatched');
  });

  test("GitLab's refusal (4xx) fails the request at once with GitLab's reason", async () => {
    await upload({ sha: PARENT_SHA, branch: 'release/unknown-to-gitlab' });
    const unknownRef = await ask(`/api/v1/commit/${PARENT_SHA}/batch?project=${q(PROJECT)}`, TUNING);
    expect(await runRequest(unknownRef.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('Reference not found'), pipeline_id: null });

    gitlab.failures = [{ match: /\/pipeline$/, status: 403, times: 1, message: '403 Forbidden - insufficient_scope' }];
    await upload({});
    const forbidden = await tune();
    const failed = await runRequest(forbidden.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('insufficient_scope');
    expect(failed.error).toContain('`api`');
    expect(gitlab.requests.filter((r) => r.endsWith('/pipeline'))).toHaveLength(2); // no retry
    expect(queue.deadLetters).toEqual([]);
  });

  test('GitLab 5xx and rate limits are retried; after the last retry the request fails with the reason', async () => {
    await upload({});
    gitlab.failures = [
      { match: /\/pipeline$/, status: 502, times: 1 },
      { match: /\/pipeline$/, status: 429, retryAfter: 1, times: 1 },
    ];
    const retried = await tune();
    expect((await runRequest(retried.id)).status).toBe('dispatched');
    expect(gitlab.requests.filter((r) => r.endsWith('/pipeline'))).toHaveLength(3);
    expect(gitlab.pipelines).toHaveLength(1);

    gitlab.failures = [{ match: /\/pipeline$/, status: 500, times: Infinity }];
    const abandoned = await tune({ ...TUNING, batch_label: 'sweep-2' });
    expect(await runRequest(abandoned.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/500 .*gave up after 3 attempts/) });
    expect(queue.deadLetters).toEqual([]);
  });

  test('cancelling a request cancels its pipeline; stopping a batch cancels its requests', async () => {
    await upload({});
    const first = await tune();
    const cancel = await app.request(`/api/v1/run-requests/${first.id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as Json).status).toBe('cancelled');
    await queue.idle();
    expect(gitlab.pipelines[0]!.status).toBe('canceled');
    expect((await app.request(`/api/v1/run-requests/${first.id}/cancel`, { method: 'POST' })).status).toBe(200); // again: nothing changes

    const second = await tune({ ...TUNING, batch_label: 'sweep-2' });
    const batch = (await commit()).batches['sweep-2'];
    await upload({ batch: 'sweep-2', status: 'running', extra: { data: { job_options: { command_id: second.command_id } } } });
    const stopped = await postJson(app, '/api/v1/batch/stop/', { id: batch.id });
    expect(await stopped.json()).toEqual({ status: 'OK', stopped_outputs: 1, cancelled_run_requests: [second.id] });
    await queue.idle();
    expect((await runRequest(second.id)).status).toBe('cancelled');
    expect(gitlab.pipelines[1]!.status).toBe('canceled');
  });

  test('a request cancelled before its dispatch gets no pipeline', async () => {
    await upload({});
    const paused = inProcessRunRequestQueue(database.db, { url: gitlab.url, token: gitlab.token, timeoutMs: 5000 }, { delayScale: 0 });
    const held: RunRequestJob[] = [];
    const holding = testApp(database.db, { GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token }, { runRequestQueue: { send: async (job) => void held.push(job) } });
    const response = await postJson(holding, `/api/v1/commit/${HEAD_SHA}/batch?project=${q(PROJECT)}`, TUNING);
    const request = (await response.json()) as Json;
    expect((await holding.request(`/api/v1/run-requests/${request.id}/cancel`, { method: 'POST' })).status).toBe(200);
    for (const job of held) await paused.send(job);
    await paused.idle();
    expect(gitlab.pipelines).toEqual([]);
    expect(await runRequest(request.id)).toMatchObject({ status: 'cancelled', pipeline_id: null });
  });

  test('lists and filters; a done or failed request can not be cancelled; the hourly clean-up fails silent requests', async () => {
    await upload({});
    gitlab.failures = [{ match: /\/pipeline$/, status: 403, times: 1 }];
    const failed = await tune();
    const dispatched = await tune({ ...TUNING, batch_label: 'sweep-2' });
    const list = async (query: string) => ((await (await app.request(`/api/v1/run-requests?project=${q(PROJECT)}${query}`)).json()) as Json[]).map((r) => r.id);
    expect(await list('')).toEqual([dispatched.id, failed.id]);
    expect(await list('&status=failed')).toEqual([failed.id]);
    expect(await list(`&commit=${HEAD_SHA.slice(0, 8)}&limit=1`)).toEqual([dispatched.id]);
    expect(await list('&commit=ffff')).toEqual([]);
    expect((await app.request(`/api/v1/run-requests?project=${q(PROJECT)}&status=lost`)).status).toBe(400);
    expect((await app.request(`/api/v1/run-requests/${failed.id}/cancel`, { method: 'POST' })).status).toBe(409);
    expect((await app.request('/api/v1/run-requests/99999')).status).toBe(404);

    await reapStaleRuns(database.db, new Date(Date.now() + 25 * 3_600_000), 24);
    expect(await runRequest(dispatched.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('nothing was reported') });
  });

  test('a `__proto__` key in a stored group or a commit batches file reaches no other object (attack finding F2)', async () => {
    await upload({ input: 'scenes/day/0001.dng' });
    const repository = ispPipelineRepository();
    repository.files['qa/batches.yaml'] = `${COMMIT_BATCHES}__proto__:\n  polluted_by_file: yes\n`;
    gitlab.repositories.set(PROJECT, repository);
    const stored = '__proto__:\n  polluted: yes\n  night: {inputs: [evil]}\nday:\n  inputs: [scenes/day/0001.dng]\n';
    expect((await postJson(app, `/api/v1/tests/groups?project=${q(PROJECT)}&name=ada`, { project: PROJECT, groups: stored })).status).toBe(200);

    const request = await tune();
    expect((await runRequest(request.id)).status).toBe('dispatched');
    expect(({} as Json).polluted).toBeUndefined();
    expect(({} as Json).polluted_by_file).toBeUndefined();
    expect(parse(variablesOf(gitlab.pipelines[0]!).QA_BATCHES!)).toEqual({
      aliases: { nightly: ['night', 'day'] },
      night: { configurations: ['base'], inputs: ['scenes/night/0001.dng'] },
      day: { inputs: ['scenes/day/0001.dng'] },
    });
    expect((await app.request('/api/v1/projects')).status).toBe(200);
    expect((await app.request(`/api/v1/commit/${HEAD_SHA}?project=${q(PROJECT)}`)).status).toBe(200);
  });

  test('bad requests: 400 naming the field, unknown commit 404, no GitLab 503 — nothing recorded', async () => {
    await upload({});
    const path = `/api/v1/commit/${HEAD_SHA}/batch?project=${q(PROJECT)}`;
    const bad = await postJson(app, path, { ...TUNING, tuning_search: { search_type: 'optimize', parameter_search: { a: [1] } } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).errors[0].field).toBe('tuning_search.parameter_search');
    expect((await postJson(app, path, { ...TUNING, groups: 'extra-batches' })).status).toBe(400);
    expect((await postJson(app, path, { ...TUNING, batch_label: '' })).status).toBe(400);
    expect((await postJson(app, `/api/v1/commit/${'e'.repeat(40)}/batch?project=${q(PROJECT)}`, TUNING)).status).toBe(404);
    expect((await postJson(app, '/api/v1/batch/redo/', { id: 424242 })).status).toBe(404);
    const withoutGitLab = await postJson(testApp(database.db), path, TUNING);
    expect(withoutGitLab.status).toBe(503);
    expect(((await withoutGitLab.json()) as Json).detail).toContain('GITLAB_TOKEN');
    expect(await (await app.request(`/api/v1/run-requests?project=${q(PROJECT)}`)).json()).toEqual([]);
  });
});
