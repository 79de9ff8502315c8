import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { repositoryPathOf } from '../src/domain/read/projects';
import { postJson, testApp, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, rowCounts, type TestDatabase } from './support/databases';
import { abortAsDeadlockVictims } from './support/injected-conflicts';
import { outputUpload, shaOf } from './support/uploads';

type Json = Record<string, any>;

describe.each(engineNames)('ingestion on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  const post = async (path: string, body: unknown) => {
    const response = await postJson(app, path, body);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as Json;
  };
  const readCommit = async (sha: string, query = 'project=group%2Frepo') =>
    (await (await app.request(`/api/v1/commit/${sha}?${query}`)).json()) as Json;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db);
  });
  beforeEach(() => emptyTables(database.db));
  afterAll(() => database?.close());

  test('50 parallel first uploads for a new commit create one project, commit and batch', async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postJson(app, '/api/v1/output/', outputUpload({ input: `inputs/${i}.jpg` }))),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(await rowCounts(database.db)).toEqual({ projects: 1, ci_commits: 1, batches: 1, test_inputs: 50, outputs: 50 });
  });

  test('the same upload sent 20 times in parallel makes one output', async () => {
    const upload = outputUpload();
    const responses = await Promise.all(Array.from({ length: 20 }, () => postJson(app, '/api/v1/output', upload)));
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as Json).id));
    expect(new Set(ids).size).toBe(1);
    expect(await rowCounts(database.db)).toMatchObject({ outputs: 1, test_inputs: 1, batches: 1, ci_commits: 1 });
  });

  test('an upload that keeps losing to concurrent writes (deadlock victims) is acknowledged with a receipt and written later, never a 500', async () => {
    const stop = await abortAsDeadlockVictims(database.db, 'outputs', 1_000);
    let response: Response;
    try {
      response = await postJson(app, '/api/v1/output/', outputUpload({ metrics: { psnr: 33 } }));
    } finally {
      await stop();
    }
    expect(response.status, await response.clone().text()).toBe(202);
    const { ingestion_id } = (await response.json()) as Json;
    app.spoolDrain.kick();
    await app.spoolDrain.idle();
    expect(await rowCounts(database.db)).toMatchObject({ outputs: 1 });
    expect(((await (await app.request(`/api/v1/ingestions/${ingestion_id}`)).json()) as Json).status).toBe('written');
  });

  test('a run is pending while running; its metrics and failure count once it ends', async () => {
    const started = await post('/api/v1/output/', outputUpload({ status: 'running' }));
    expect(started).toMatchObject({ is_running: true, is_pending: true, is_failed: false, metrics: {} });
    // A late "running" update must not erase results.
    const ended = await post('/api/v1/output/', outputUpload({ status: 'failed', metrics: { psnr: 20 } }));
    expect(ended).toMatchObject({ id: started.id, is_running: false, is_pending: false, is_failed: true, metrics: { psnr: 20, is_failed: true } });
    const rerun = await post('/api/v1/output/', outputUpload({ status: 'running' }));
    expect(rerun).toMatchObject({ is_pending: true, is_failed: true, metrics: { psnr: 20 } });
  });

  test('the output records who ran it, where, and with which legacy fields', async () => {
    const output = await post('/api/v1/output/', {
      ...outputUpload({ extra: { platform: 'lsf', configuration: 'base:{"gain": 2}:fast', user: 'ada', job_type: 'local' } }),
      configurations: undefined,
      data: { storage: 12 },
      input_metadata: { iso: 100 },
    });
    expect(output).toMatchObject({
      platform: 'linux',
      configurations: ['base', { gain: 2 }, 'fast'],
      data: { storage: 12, user: 'ada', ci: false },
      test_input_metadata: { iso: 100 },
      output_dir_url: '/s/mnt/qaboard/ci/group/repo/00/output/inputs/a.jpg',
    });
  });

  test("a test input belongs to its project: another project naming it neither sees nor changes its metadata", async () => {
    const teamB = await post('/api/v1/output/', { ...outputUpload({ project: 'team-b/repo', input: 'shared.jpg' }), input_metadata: { owner: 'b', secret: 42 } });
    const teamA = await post('/api/v1/output/', { ...outputUpload({ project: 'team-a/repo', input: 'shared.jpg' }), input_metadata: { owner: 'a' } });
    expect(teamA.test_input_metadata).toEqual({ owner: 'a' });
    const teamBNow = (await (await app.request(`/api/v1/output/${teamB.id}`)).json()) as Json;
    expect(teamBNow.test_input_metadata).toEqual({ owner: 'b', secret: 42 });
    expect(await rowCounts(database.db)).toMatchObject({ test_inputs: 2 });
  });

  test('a deleted output comes back when it is uploaded again', async () => {
    const output = await post('/api/v1/output/', outputUpload());
    await database.db.execute(`UPDATE outputs SET deleted = true WHERE id = ${Number(output.id)}` as never);
    expect(await post('/api/v1/output/', outputUpload())).toMatchObject({ id: output.id, deleted: false });
  });

  test('the project takes the config of its first commit, then only of reference-branch commits', async () => {
    const configured = (name: string, branch: string, sha: string) =>
      outputUpload({ branch, sha, extra: { qaboard_config: { project: { name, reference_branch: 'main' } } } });
    await post('/api/v1/output/', configured('first', 'feature', shaOf(1)));
    await post('/api/v1/output/', configured('feature-edit', 'feature', shaOf(2)));
    const project = async () => (await (await app.request('/api/v1/project?project=group%2Frepo')).json()) as Json;
    expect((await project()).qatools_config.project.name).toBe('first');
    await post('/api/v1/output/', configured('released', 'main', shaOf(3)));
    expect(await project()).toMatchObject({ qatools_config: { project: { name: 'released' } }, git: { path_with_namespace: 'group/repo' } });
  });

  test('the commit keeps its first metadata; later uploads only fill what is missing', async () => {
    await post('/api/v1/output/', { ...outputUpload({ branch: 'dev', committer: 'First' }), commit_message: null });
    await post('/api/v1/output/', { ...outputUpload({ branch: 'other', committer: 'Second' }), commit_message: 'fix: things' });
    expect(await readCommit(shaOf(1))).toMatchObject({ branch: 'dev', committer_name: 'First', message: 'fix: things' });
  });

  test('POST /batch merges commands and data, and keeps configs that differ from the commit', async () => {
    const base = outputUpload();
    await post('/api/v1/output/', base);
    const first = await post('/api/v1/batch/', { ...base, batch_dir: '/mnt/b', command: { c1: { argv: ['qa', 'batch'] } } });
    const second = await post('/api/v1/batch', {
      ...base,
      batch_dir: undefined, // an upload without a folder keeps the known one
      command: { c2: { argv: ['qa', 'batch', 'again'] } },
      data: { note: 'x' },
      qaboard_config: { ...(base.qaboard_config as Json), edited: true },
    });
    expect(second).toEqual({ status: 'OK', id: first.id });
    const batch = (await readCommit(shaOf(1))).batches.default;
    expect(Object.keys(batch.data.commands)).toEqual(['c1', 'c2']);
    expect(batch.data).toMatchObject({ note: 'x', type: 'ci', config: { edited: true } });
    expect(batch.data.qatools_metrics).toBeUndefined();
    expect(batch.batch_dir_url).toBe('/s/mnt/b');
  });

  test('storage locations: absolute paths and http(s) URLs only — other schemes are a 400 at upload and never a link (attack finding F3)', async () => {
    const base = outputUpload();
    const output = await post('/api/v1/output/', { ...base, output_directory: 'HTTPS://r2.example.com/runs/a' });
    expect(output.output_dir_url).toBe('HTTPS://r2.example.com/runs/a');
    await post('/api/v1/output/', { ...base, input_path: 'win.jpg', rel_input_path: 'win.jpg', output_directory: 'C:/runs/a' }); // a Windows path: not a location here, dropped
    const hostile = ['javascript://%0Aalert(document.domain)', 'JavaScript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript://x', 'blob:https://evil.example/x'];
    for (const [path, field] of [['/api/v1/output/', 'output_directory'], ['/api/v1/batch/', 'batch_dir'], ['/api/v1/batch/', 'prefix_output_dir'], ['/api/v1/commit/', 'artifacts_commit'], ['/api/v1/commit/', 'commit_ci_dir']] as const) {
      for (const location of hostile) {
        const response = await postJson(app, path, { ...base, [field]: location });
        expect(response.status, `${field}: ${location}`).toBe(400);
        expect(((await response.json()) as Json).errors.map((e: Json) => e.field)).toContain(field);
      }
    }
    // Rows written before this check still never become links.
    await database.db.execute(sql`UPDATE batches SET batch_dir_override = 'javascript://%0Aalert(1)'`);
    await database.db.execute(sql`UPDATE outputs SET output_dir_override = 'data://text/html,x'`);
    await database.db.execute(sql`UPDATE ci_commits SET commit_dir_override = 'javascript://x/'`);
    const commit = await readCommit(shaOf(1));
    const urls = [commit.batches.default.batch_dir_url, commit.artifacts_url, commit.repo_artifacts_url, ...Object.values(commit.batches.default.outputs).map((o: any) => o.output_dir_url)];
    for (const url of urls) expect(url).not.toMatch(/^[a-z][a-z0-9+.-]*:/i);
    expect(((await (await app.request(`/api/v1/output/${output.id}`)).json()) as Json).output_dir_url).toBe('');
  });

  test("an upload's repository is its project or a parent folder of it — never another project's (attack finding F1)", async () => {
    const hostile = { project_root: 'teamB/secret', qaboard_config: { project: { name: 'teamB/secret' } } };
    await post('/api/v1/output/', { ...outputUpload({ project: 'teamA/repo' }), ...hostile });
    expect(await repositoryPathOf(database.db, 'teamA/repo')).toBe('teamA/repo');
    await post('/api/v1/output/', { ...outputUpload({ project: 'teamA/repo/sub' }), project_root: 'teamA/repository', qaboard_config: { project: { name: 'teamA/repo' } } });
    expect(await repositoryPathOf(database.db, 'teamA/repo/sub')).toBe('teamA/repo'); // project_root rejected, the config's name kept
    await post('/api/v1/commit/', { ...outputUpload({ project: 'teamA/other' }), ...hostile });
    expect(await repositoryPathOf(database.db, 'teamA/other')).toBe('teamA/other');
    const commit = await readCommit(shaOf(1), 'project=teamA%2Fother');
    expect(commit.data.git).toBeUndefined(); // the commit records no repository either
    // The qa CLI's own: a sub-project names its repository (project_root = the root's project.name).
    await post('/api/v1/output/', { ...outputUpload({ project: 'vision/isp/tools/denoise' }), project_root: 'vision/isp' });
    expect(await repositoryPathOf(database.db, 'vision/isp/tools/denoise')).toBe('vision/isp');
  });

  test('qa optimize: the best iteration moves into the batch and finished iterations go', async () => {
    for (const iteration of [1, 2]) {
      await post('/api/v1/output/', outputUpload({ batch: `tune|iter${iteration}`, metrics: { loss: iteration } }));
    }
    await post('/api/v1/output/', outputUpload({ batch: 'tune', metrics: { loss: 9 } }));
    await post('/api/v1/batch/', {
      ...outputUpload({ batch: 'tune' }),
      data: { optimization: true, iteration: 2, iteration_label: 'tune|iter2', is_best_iter: true },
    });
    const commit = await readCommit(shaOf(1));
    expect(Object.keys(commit.batches).sort()).toEqual(['tune']);
    expect(commit.batches.tune.data.best_iter).toBe(2);
    expect(Object.values(commit.batches.tune.outputs).map((o: any) => o.metrics.loss)).toEqual([2]);
  });

  test('POST /commit merges data and undeletes, by path or by body', async () => {
    await post('/api/v1/commit/', { ...outputUpload(), data: { quality: { lint: 3 } } });
    await database.db.execute('UPDATE ci_commits SET deleted = true' as never);
    expect(await post(`/api/v1/commit/${shaOf(1)}`, { project: 'group/repo', data: { coverage: 0.8 } })).toEqual({ status: 'OK' });
    const commit = await readCommit(shaOf(1));
    expect(commit).toMatchObject({ deleted: false, data: { quality: { lint: 3 }, coverage: 0.8 } });
    expect(await rowCounts(database.db)).toMatchObject({ ci_commits: 1, batches: 0 });
  });

  test('aggregated metrics follow every change of the outputs (the cache is never stale)', async () => {
    const aggregates = async () =>
      (await readCommit(shaOf(1), `project=group%2Frepo&metrics=${encodeURIComponent('{"psnr": 0}')}`)).batches.default.aggregated_metrics;
    await post('/api/v1/output/', outputUpload({ input: 'a', metrics: { psnr: 10 } }));
    await post('/api/v1/output/', outputUpload({ input: 'b', metrics: { psnr: 20 } }));
    expect(await aggregates()).toEqual({ psnr_median: 15, psnr_average: 15 });
    expect(await aggregates()).toEqual({ psnr_median: 15, psnr_average: 15 }); // served from the cache
    await post('/api/v1/output/', outputUpload({ input: 'b', metrics: { psnr: 40 } })); // a re-run
    expect(await aggregates()).toEqual({ psnr_median: 25, psnr_average: 25 });
    await post('/api/v1/output/', outputUpload({ input: 'c', status: 'running' }));
    expect(await aggregates()).toEqual({ psnr_median: 25, psnr_average: 25 });
    await post('/api/v1/output/', outputUpload({ input: 'c', metrics: { psnr: 70 } }));
    expect(await aggregates()).toEqual({ psnr_median: 40, psnr_average: 40 });
    await database.db.execute(`DELETE FROM outputs WHERE test_input_id = (SELECT id FROM test_inputs WHERE path = 'c')` as never);
    expect(await aggregates()).toEqual({ psnr_median: 25, psnr_average: 25 });
  });
});
