/**
 * What the web app writes, as it sends it: output status and deletion, batch stop / rename / move /
 * delete, deleting a commit's batches, milestones — with conflicts, protected milestones, bad
 * bodies and unknown objects; the routes left behind (501) and static paths winning over parameters.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { assertStaticRoutesWin } from '../src/lib/route-order';
import { expiredCommits } from '../src/maintenance/retention';
import { LEFT_BEHIND } from '../src/routes/left-behind/left-behind';
import { postJson, testApp, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, rowCounts, type TestDatabase } from './support/databases';
import { abortAsDeadlockVictims } from './support/injected-conflicts';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

type Json = Record<string, any>;
const PROJECT = 'group/repo';
const q = encodeURIComponent;
const DAY = 86_400_000;

describe.each(engineNames)("the web app's writes on %s", (engine) => {
  let database: TestDatabase;
  let app: TestApp;

  const upload = async (spec: UploadSpec) => {
    const response = await postJson(app, '/api/v1/output/', outputUpload({ project: PROJECT, ...spec }));
    expect(response.status).toBe(200);
    return (await response.json()) as Json;
  };
  const commit = async (sha = shaOf(1), project = PROJECT) => (await (await app.request(`/api/v1/commit/${sha}?project=${q(project)}`)).json()) as Json;
  const batchOf = async (label = 'default', sha = shaOf(1)) => (await commit(sha)).batches[label] as Json;
  const send = (method: string, path: string, body?: unknown) =>
    app.request(path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const expectProblem = async (response: Response, status: number, field?: string) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as Json;
    expect(problem.error).toEqual(problem.detail); // the web app shows `error`
    if (field) expect(problem.errors.map((e: Json) => e.field)).toContain(field);
    return problem;
  };

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db);
  });
  beforeEach(() => emptyTables(database.db));
  afterAll(() => database?.close());

  describe('outputs', () => {
    test('"Mark as finished" sets the flags and merges data and metrics', async () => {
      const output = await upload({ status: 'running' });
      const response = await send('PUT', `/api/v1/output/${output.id}/`, { is_pending: false, is_running: false, is_failed: true, data: { note: 'killed' }, metrics: { psnr: 1 } });
      expect(response.status).toBe(200);
      const updated = (await response.json()) as Json;
      expect(updated).toMatchObject({ id: output.id, is_pending: false, is_running: false, is_failed: true, metrics: { psnr: 1 } });
      expect(updated.data).toEqual({ ...output.data, note: 'killed' });
      expect((await batchOf()).pending_outputs).toBe(0);
    });

    test('a write Postgres aborts as a deadlock victim is a 503 to retry at once, not a 500; the retry succeeds', async () => {
      const output = await upload({ status: 'running' });
      const stop = await abortAsDeadlockVictims(database.db, 'outputs', 1);
      let response: Response;
      try {
        response = await send('PUT', `/api/v1/output/${output.id}/`, { is_pending: false });
      } finally {
        await stop();
      }
      const problem = await expectProblem(response, 503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(problem.detail).toMatch(/concurrent change/);
      expect((await send('PUT', `/api/v1/output/${output.id}/`, { is_pending: false })).status).toBe(200);
    });

    test('PUT: unknown output 404, bad flags 400 naming the field', async () => {
      await expectProblem(await send('PUT', '/api/v1/output/999999', { is_failed: true }), 404);
      const output = await upload({});
      await expectProblem(await send('PUT', `/api/v1/output/${output.id}`, { is_failed: 'yes' }), 400, 'is_failed');
      await expectProblem(await send('PUT', `/api/v1/output/${output.id}`, { data: [1] }), 400, 'data');
    });

    test('soft delete keeps the output marked deleted; hard delete removes it; both refused while it runs', async () => {
      const running = await upload({ input: 'running.jpg', status: 'running' });
      const problem = await expectProblem(await send('DELETE', `/api/v1/output/${running.id}/`), 409);
      expect(problem.error).toContain('wait for the output to finish');
      expect((await send('DELETE', `/api/v1/output/${running.id}/?soft=true`)).status).toBe(409);

      const done = await upload({ input: 'done.jpg' });
      expect(await (await send('DELETE', `/api/v1/output/${done.id}/?soft=true`)).json()).toEqual({ status: 'OK' });
      expect(((await (await app.request(`/api/v1/output/${done.id}`)).json()) as Json).deleted).toBe(true);
      expect((await batchOf()).deleted_outputs).toBe(1);
      expect((await send('DELETE', `/api/v1/output/${done.id}/`)).status).toBe(200);
      expect((await app.request(`/api/v1/output/${done.id}`)).status).toBe(404);
      expect((await app.request(`/api/v1/output/${running.id}`)).status).toBe(200);
    });
  });

  describe('batches', () => {
    test('stop: unfinished runs end as failed, "stopped"', async () => {
      await upload({ input: 'a.jpg', status: 'running' });
      await upload({ input: 'b.jpg' });
      const batch = await batchOf();
      expect(await (await postJson(app, '/api/v1/batch/stop/', { id: batch.id })).json()).toEqual({ status: 'OK', stopped_outputs: 1, cancelled_run_requests: [] });
      const after = await batchOf();
      expect(after).toMatchObject({ pending_outputs: 0, running_outputs: 0, failed_outputs: 1 });
      const stopped = Object.values(after.outputs as Json).find((o: Json) => o.test_input_path === 'a.jpg') as Json;
      expect(stopped.data.failure_reason).toBe('stopped');
      await expectProblem(await postJson(app, '/api/v1/batch/stop/', { id: 999999 }), 404);
      await expectProblem(await postJson(app, '/api/v1/batch/stop/', { id: 'x' }), 400, 'id');
    });

    test('rename: the label must be free; refused while it runs', async () => {
      await upload({ batch: 'a' });
      await upload({ batch: 'b' });
      const a = await batchOf('a');
      const taken = await expectProblem(await postJson(app, '/api/v1/batch/rename/', { id: a.id, label: 'b' }), 409);
      expect(taken.error).toContain('already exists');
      expect(await (await postJson(app, '/api/v1/batch/rename/', { id: a.id, label: 'c' })).json()).toEqual({ status: 'OK' });
      expect(Object.keys((await commit()).batches).sort()).toEqual(['b', 'c']);

      await upload({ batch: 'c', input: 'late.jpg', status: 'running' });
      await expectProblem(await postJson(app, '/api/v1/batch/rename/', { id: a.id, label: 'd' }), 409);
      await expectProblem(await postJson(app, '/api/v1/batch/rename/', { id: a.id, label: '' }), 400, 'label');
      await expectProblem(await postJson(app, '/api/v1/batch/rename/', { id: 999999, label: 'e' }), 404);
    });

    test("move: the web app's filter picks the outputs; an emptied batch goes; a taken run is a conflict", async () => {
      await upload({ batch: 'src', input: 'night/1.jpg' });
      await upload({ batch: 'src', input: 'night/2.jpg', status: 'failed' });
      await upload({ batch: 'src', input: 'day/1.jpg' });
      const source = await batchOf('src');
      const moved = await postJson(app, '/api/v1/batch/move/', { id: source.id, label: 'night', filter: 'night -fail' });
      expect(await moved.json()).toEqual({ status: 'OK', moved_outputs: 1 });
      const batches = (await commit()).batches;
      expect(Object.values(batches.night.outputs).map((o: any) => o.test_input_path)).toEqual(['night/1.jpg']);
      expect(batches.src.valid_outputs).toBe(1);

      await upload({ batch: 'night', input: 'day/1.jpg' }); // the same run, already in the target
      await expectProblem(await postJson(app, '/api/v1/batch/move/', { id: source.id, label: 'night', filter: '' }), 409);
      expect((await batchOf('src')).valid_outputs).toBe(1); // nothing moved

      await expectProblem(await postJson(app, '/api/v1/batch/move/', { id: source.id, label: 'x', filter: 'night[' }), 400, 'filter');
      expect(await (await postJson(app, '/api/v1/batch/move/', { id: source.id, label: 'all', filter: null })).json()).toEqual({ status: 'OK', moved_outputs: 2 });
      expect(Object.keys((await commit()).batches).sort()).toEqual(['all', 'night']);
    });

    test('move: a filter runs in time linear in the text, whatever its pattern; backreferences and lookarounds are a 400 naming filter', async () => {
      // V8 backtracks 2^28 times on `(a+)+$` against this path (about 10 s on one core, every other request waiting).
      await upload({ batch: 'src', input: `${'a'.repeat(28)}!` });
      await upload({ batch: 'src', input: 'aaa' });
      const source = await batchOf('src');
      const started = performance.now();
      for (const filter of ['(a+)+$', '(a|aa)+$', '(.*a){12}$']) {
        expect(await (await postJson(app, '/api/v1/batch/move/', { id: source.id, label: 'none', filter: `-fail ^${filter}` })).json()).toEqual({ status: 'OK', moved_outputs: 0 });
      }
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(await (await postJson(app, '/api/v1/batch/move/', { id: source.id, label: 'short', filter: '^(a+)+ -!' })).json()).toEqual({ status: 'OK', moved_outputs: 1 });
      for (const filter of ['(a)\\1', 'a(?=!)', '(?<!b)a']) {
        const problem = await expectProblem(await postJson(app, '/api/v1/batch/move/', { id: source.id, label: 'x', filter }), 400, 'filter');
        expect(problem.error).toContain('backreferences or lookarounds');
      }
      // Linear in the text, but the pattern's size multiplies it (4,096 characters of `.*.`: 0.26 s per output).
      await expectProblem(await postJson(app, '/api/v1/batch/move/', { id: source.id, label: 'x', filter: '.*.'.repeat(86) }), 400, 'filter');
      expect(Object.keys((await commit()).batches).sort()).toEqual(['short', 'src']);
    });

    test('delete: failed only, soft, hard (the batch goes); a milestone batch is kept whole', async () => {
      await upload({ input: 'ok.jpg' });
      await upload({ input: 'ko.jpg', status: 'failed' });
      const batch = await batchOf();
      const onlyFailed = await send('DELETE', `/api/v1/batch/${batch.id}/?only_failed=true&soft=false`);
      expect(await onlyFailed.json()).toEqual({ status: 'OK', deleted_outputs: 1, batch_deleted: false, cancelled_run_requests: [] });
      expect((await batchOf()).failed_outputs).toBe(0);

      const soft = await send('DELETE', `/api/v1/batch/${batch.id}/?soft=true`);
      expect(await soft.json()).toMatchObject({ deleted_outputs: 1, batch_deleted: false });
      expect((await batchOf()).deleted_outputs).toBe(1);
      const files = await send('DELETE', `/api/v1/batch/${batch.id}/?soft=true&filter=*.png`);
      expect(await files.json()).toMatchObject({ deleted_outputs: 0 }); // files are the site's storage

      await saveMilestone({ commit: shaOf(1), batch: 'default' });
      const refused = await expectProblem(await send('DELETE', `/api/v1/batch/${batch.id}/`), 403);
      expect(refused.error).toContain('milestone');
      await ageMilestones();
      await deleteMilestone();
      expect(await (await send('DELETE', `/api/v1/batch/${batch.id}/`)).json()).toMatchObject({ deleted_outputs: 1, batch_deleted: true });
      expect((await commit()).batches).toEqual({});
      await expectProblem(await send('DELETE', `/api/v1/batch/${batch.id}/`), 404);
      await expectProblem(await send('DELETE', `/api/v1/batch/${batch.id}/?soft=maybe`), 400, 'soft');
    });

    test("delete: deleting files (soft, with a filter) or failed outputs touches only those: the batch's runs go on (M2)", async () => {
      const running = await upload({ input: 'running.jpg', status: 'running' });
      const failed = await upload({ input: 'failed.jpg', status: 'failed' });
      const batch = await batchOf();
      for (const query of ['soft=true&filter=*.png', 'soft=true&only_failed=true&filter=*.png', 'only_failed=true&soft=true']) {
        const response = await send('DELETE', `/api/v1/batch/${batch.id}/?${query}`);
        expect(response.status).toBe(200);
        expect(((await response.json()) as Json).cancelled_run_requests).toEqual([]);
      }
      const after = await batchOf();
      expect(after).toMatchObject({ pending_outputs: 1, running_outputs: 1, deleted_outputs: 1 });
      expect((await (await app.request(`/api/v1/output/${running.id}`)).json()) as Json).toMatchObject({ is_running: true, is_pending: true, is_failed: false, deleted: false });
      expect((await (await app.request(`/api/v1/output/${failed.id}`)).json()) as Json).toMatchObject({ deleted: true });
    });

    test('a batch of 2,000 outputs goes in one request, rows and all (figures: npm run bench:writes)', async () => {
      await upload({ batch: 'big' });
      const batch = await batchOf('big');
      await database.db.execute(sql`
        INSERT INTO outputs (batch_id, test_input_id, platform, configurations)
        SELECT ${batch.id}, o.test_input_id, 'p' || i, '[]'::jsonb FROM outputs o, generate_series(1, 1999) i WHERE o.batch_id = ${batch.id}`);
      expect(await (await send('DELETE', `/api/v1/batch/${batch.id}`)).json()).toMatchObject({ deleted_outputs: 2000, batch_deleted: true });
      expect((await rowCounts(database.db)).outputs).toBe(0);
    });
  });

  describe("a commit's batches", () => {
    const SUB = 'group/repo/sub/dir';

    test('deleted for a project whose id has slashes, or for every project of the commit; the commit stays', async () => {
      await upload({ sha: shaOf(1), branch: 'feature' });
      await upload({ sha: shaOf(1), branch: 'feature', project: SUB });
      await upload({ sha: shaOf(2), branch: 'feature', project: SUB });
      const response = await send('DELETE', `/api/v1/commit/${SUB}/${shaOf(1)}/batches/`);
      expect(await response.json()).toEqual({ status: 'OK', deleted_batches: 1, deleted_outputs: 1, cancelled_run_requests: [] });
      expect((await commit(shaOf(1), SUB)).batches).toEqual({});
      expect(Object.keys((await commit(shaOf(1))).batches)).toEqual(['default']);

      await upload({ sha: shaOf(1), branch: 'feature', project: SUB });
      expect(await (await send('DELETE', `/api/v1/commit/${shaOf(1)}/batches`)).json()).toMatchObject({ deleted_batches: 2 });
      expect((await commit(shaOf(1))).batches).toEqual({});
      expect(Object.keys((await commit(shaOf(2), SUB)).batches)).toEqual(['default']);
      await expectProblem(await send('DELETE', `/api/v1/commit/${'f'.repeat(40)}/batches`), 404);
      await expectProblem(await send('DELETE', `/api/v1/commit/not-a-sha/batches`), 400, 'id');
    });

    test('refused for a milestone commit, and for the head of the reference branch', async () => {
      await upload({ sha: shaOf(1), branch: 'master', authored: new Date(Date.now() - DAY).toISOString() });
      await upload({ sha: shaOf(2), branch: 'master' });
      const head = await expectProblem(await send('DELETE', `/api/v1/commit/${PROJECT}/${shaOf(2)}/batches`), 403);
      expect(head.error).toContain('reference branch');
      await saveMilestone({ commit: shaOf(1) });
      await expectProblem(await send('DELETE', `/api/v1/commit/${PROJECT}/${shaOf(1)}/batches`), 403);
      expect((await rowCounts(database.db)).outputs).toBe(2);
    });
  });

  const KEY = `${PROJECT}/${shaOf(1)}/default`;
  const MILESTONE = { label: 'v1', notes: 'first', commit: shaOf(1), branch: 'master', batch: 'default', filter: '', date: '2026-11-28T19:53:32.117Z' };
  async function saveMilestone(milestone: Json = {}, key = KEY) {
    const response = await postJson(app, '/api/v1/project/milestones/', { project: PROJECT, key, milestone: { ...MILESTONE, ...milestone }, delete: 'false' });
    expect(response.status).toBe(200);
    return (await response.json()) as Json;
  }
  const deleteMilestone = async (key = KEY) => (await postJson(app, '/api/v1/project/milestones/', { project: PROJECT, key, delete: 'true' })).json() as Promise<Json>;
  /** Moves saves out of the window where they win over deletes (see SAVE_WINS_OVER_DELETE_MS), without waiting for it. */
  const ageMilestones = () =>
    database.db.execute(sql`UPDATE projects SET data = jsonb_set(data, '{milestones}',
      (SELECT jsonb_object_agg(key, value || '{"saved_at": "2000-01-01T00:00:00+00:00"}') FROM jsonb_each(data -> 'milestones')))
      WHERE data ? 'milestones' AND data -> 'milestones' <> '{}'::jsonb`);

  describe('milestones', () => {
    test('saved and deleted as the web app sends them, read back from the project data', async () => {
      await upload({});
      const saved = await saveMilestone();
      expect(saved[KEY]).toMatchObject(MILESTONE);
      const projects = (await (await app.request('/api/v1/projects')).json()) as Json;
      expect(projects[PROJECT].data.milestones[KEY]).toMatchObject(MILESTONE);
      expect(await (await app.request(`/api/v1/project/milestones?project=${q(PROJECT)}`)).json()).toEqual(saved);

      expect((await deleteMilestone())[KEY]).toBeDefined(); // just saved: the web app's "delete, then save" pair
      await ageMilestones();
      expect(await deleteMilestone()).toEqual({});
      expect(await deleteMilestone()).toEqual({}); // deleting again is no error
      expect(await (await send('DELETE', '/api/v1/project/milestones', { project: PROJECT, key: 'nothing' })).json()).toEqual({});
    });

    test('"delete old, then save new" sent back to back: the save wins in either order', async () => {
      await upload({});
      await saveMilestone({ label: 'old' });
      // The delete arrives after the save it preceded.
      await saveMilestone({ label: 'new' });
      expect((await deleteMilestone())[KEY].label).toBe('new');
      // Or both at once.
      const [saved] = await Promise.all([saveMilestone({ label: 'newer' }), deleteMilestone()]);
      expect(saved[KEY].label).toBe('newer');
      expect(((await (await app.request(`/api/v1/project/milestones?project=${q(PROJECT)}`)).json()) as Json)[KEY].label).toBe('newer');
    });

    test('a milestone keeps its commit from retention, also from a sub-project page', async () => {
      const old = new Date(Date.now() - 100 * DAY).toISOString();
      const config = { project: { name: PROJECT, reference_branch: 'master' }, storage: { garbage: { after: '1month' } } };
      await upload({ project: 'group/repo/sub', sha: shaOf(3), branch: 'feature', authored: old, extra: { qaboard_config: config } });
      await database.db.execute(sql`UPDATE outputs SET created_date = ${old}`);
      expect((await expiredCommits(database.db, new Date())).map((c) => c.hexsha)).toEqual([shaOf(3)]);
      await upload({});
      await saveMilestone({ commit: shaOf(3), project: 'group/repo/sub' }, `group/repo/sub/${shaOf(3)}/default`);
      expect(await expiredCommits(database.db, new Date())).toEqual([]);
    });

    test('bad bodies 400 naming the field; unknown project 404', async () => {
      await upload({});
      const path = '/api/v1/project/milestones/';
      await expectProblem(await postJson(app, path, { project: PROJECT, key: KEY, delete: 'false' }), 400, 'milestone');
      await expectProblem(await postJson(app, path, { project: PROJECT, key: KEY, milestone: { ...MILESTONE, commit: 'nope' } }), 400, 'milestone.commit');
      await expectProblem(await postJson(app, path, { project: PROJECT, milestone: MILESTONE }), 400, 'key');
      await expectProblem(await postJson(app, path, { project: 'no/such', key: KEY, milestone: MILESTONE }), 404);
      await expectProblem(await app.request('/api/v1/project/milestones?project=no%2Fsuch'), 404);
      const [row] = await queryRows<{ data: Json }>(database.db, sql`SELECT data FROM projects WHERE id = ${PROJECT}`);
      expect(row!.data.milestones).toBeUndefined();
    });

    test('a token restricted to a prefix cannot protect another project with a milestone', async () => {
      const restricted = testApp(database.db, { AUTH_MODE: 'all', ADMIN_TOKEN: 'bootstrap-admin-token-for-tests' });
      await upload({});
      await upload({ project: 'other/repo' });
      const created = await postJson(restricted, '/api/v1/tokens', { name: 'team', scopes: ['write'], project_prefix: PROJECT }, { authorization: 'Bearer bootstrap-admin-token-for-tests' });
      const { token } = (await created.json()) as Json;
      const body = { project: PROJECT, key: 'k', milestone: { ...MILESTONE, project: 'other/repo' } };
      await expectProblem(await postJson(restricted, '/api/v1/project/milestones', body, { authorization: `Bearer ${token}` }), 404);
      const own = { ...body, milestone: MILESTONE };
      expect((await postJson(restricted, '/api/v1/project/milestones', own, { authorization: `Bearer ${token}` })).status).toBe(200);
    });
  });

  describe('routes', () => {
    test.each(LEFT_BEHIND.flatMap((route) => route.methods.map((method) => [method, route.path.replace('*', 'pixel')] as const)))(
      '%s %s answers 501 with why and what to use instead',
      async (method, path) => {
        for (const variant of [path, `${path}/`]) {
          const problem = await expectProblem(await send(method, variant, method === 'POST' ? {} : undefined), 501);
          expect(problem.error).toMatch(/not available in QA-Board Edge: .+\. Instead, .+/);
        }
      },
    );

    test('static paths win over parameters: save-artifacts is not taken for a commit id', async () => {
      await upload({});
      const problem = await expectProblem(await postJson(app, '/api/v1/commit/save-artifacts/', { hexsha: shaOf(1), project: PROJECT }), 503);
      expect(problem.error).toContain('GitLab');
      expect((await postJson(app, `/api/v1/commit/${shaOf(1)}/`, { project: PROJECT })).status).toBe(200);
      expect(() => assertStaticRoutesWin([{ method: 'POST', path: '/api/v1/commit/:id' }, { method: 'POST', path: '/api/v1/commit/save-artifacts' }])).toThrow(
        'POST /api/v1/commit/save-artifacts is shadowed by POST /api/v1/commit/:id',
      );
      expect(() => assertStaticRoutesWin([{ method: 'POST', path: '/a/static' }, { method: 'POST', path: '/a/:id' }, { method: 'GET', path: '/a/:id/b' }])).not.toThrow();
    });
  });
});
