import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { postJson, testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

type Json = Record<string, any>;
const DAY = 24 * 3600_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

describe.each(engineNames)('reads on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  const get = async (path: string) => {
    const response = await app.request(path);
    expect(response.status, path).toBe(200);
    return (await response.json()) as any;
  };
  const upload = async (spec: UploadSpec) => expect((await postJson(app, '/api/v1/output/', outputUpload(spec))).status).toBe(200);

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db);
    // master: 1 (old, 10 days), 2 (recent, metrics), 3 (newest, only failures); feature/x: 4; origin/dev: 5; other project: 6
    await upload({ sha: shaOf(1), authored: daysAgo(10), metrics: { psnr: 1 } });
    for (const [i, psnr] of [[1, 1], [2, 2], [3, 3], [4, 10]] as const) {
      await upload({ sha: shaOf(2), authored: daysAgo(1), input: `in/${i}.jpg`, metrics: { psnr, ok: true } });
    }
    await upload({ sha: shaOf(2), authored: daysAgo(1), input: 'in/failed.jpg', status: 'failed', metrics: { psnr: 99 } });
    await upload({ sha: shaOf(2), authored: daysAgo(1), input: 'in/running.jpg', status: 'running' });
    await upload({ sha: shaOf(2), authored: daysAgo(1), batch: 'tuning', metrics: { psnr: 50 } });
    await upload({ sha: shaOf(3), authored: daysAgo(0.5), status: 'failed' });
    await upload({ sha: shaOf(4), authored: daysAgo(0.2), branch: 'feature/x', committer: 'Grace Hopper' });
    await upload({ sha: shaOf(5), authored: daysAgo(0.1), branch: 'origin/dev' });
    await upload({ project: 'group/other', sha: shaOf(6), authored: daysAgo(30) });
  });
  afterAll(() => database?.close());

  test('/commit/:id aggregates metrics over valid outputs in SQL and counts every status', async () => {
    const commit = await get(`/api/v1/commit/${shaOf(2)}?project=group%2Frepo&metrics=${encodeURIComponent('{"psnr": 0, "ok": 0, "absent": 0}')}`);
    const batch = commit.batches.default;
    expect(batch).toMatchObject({ valid_outputs: 4, failed_outputs: 1, pending_outputs: 1, running_outputs: 1, deleted_outputs: 0 });
    expect(batch.aggregated_metrics).toEqual({ psnr_median: 2.5, psnr_average: 4, ok_median: 1, ok_average: 1 });
    expect(Object.keys(batch.outputs)).toHaveLength(6);
    expect(Object.keys(commit.batches)).toEqual(['default', 'tuning']);
  });

  test('/commit/:id takes a hexsha prefix and a batch filter', async () => {
    const commit = await get(`/api/v1/commit/${shaOf(2).slice(0, 10)}?project=group%2Frepo&batch=tuning`);
    expect(commit.id).toBe(shaOf(2));
    expect(Object.keys(commit.batches)).toEqual(['tuning']);
    expect(commit.batches.tuning.aggregated_metrics).toEqual({});
  });

  test('/commit without id: the latest commit of the reference branch with valid outputs', async () => {
    expect((await get('/api/v1/commit?project=group%2Frepo')).id).toBe(shaOf(2)); // shaOf(3) only failed
    expect((await get('/api/v1/commit/?project=group%2Frepo&branch=dev')).id).toBe(shaOf(5)); // stored as origin/dev
    expect((await get(`/api/v1/commit?project=group%2Frepo&commit=${shaOf(1)}`)).id).toBe(shaOf(1));
    const none = await app.request('/api/v1/commit?project=group%2Frepo&branch=master&batch=nope');
    expect(none.status).toBe(404);
  });

  test('/commits: the last 4 days, newest first, without outputs unless asked', async () => {
    const commits = await get('/api/v1/commits?project=group%2Frepo');
    expect(commits.map((c: Json) => c.id)).toEqual([shaOf(5), shaOf(4), shaOf(3), shaOf(2)]);
    expect(commits[0].branch).toBe('dev');
    expect(commits[3].batches.default.outputs).toBeUndefined();
    expect(commits[3].batches.default.valid_outputs).toBe(4);
    const withOutputs = await get('/api/v1/commits?project=group%2Frepo&with_outputs=true&only_ci_batches=true');
    expect(Object.keys(withOutputs[3].batches)).toEqual(['default']);
    expect(Object.keys(withOutputs[3].batches.default.outputs)).toHaveLength(6);
  });

  test('/commits/:branch matches branch names with slashes and with origin/', async () => {
    expect((await get('/api/v1/commits/feature/x?project=group%2Frepo')).map((c: Json) => c.id)).toEqual([shaOf(4)]);
    expect((await get('/api/v1/commits/dev/?project=group%2Frepo')).map((c: Json) => c.id)).toEqual([shaOf(5)]);
    expect((await get('/api/v1/commits/origin/dev?project=group%2Frepo')).map((c: Json) => c.id)).toEqual([shaOf(5)]);
    expect(await get(`/api/v1/commits?project=group%2Frepo&committer=${encodeURIComponent('Grace Hopper')}`)).toHaveLength(1);
  });

  test('/commits: the window slides back to the latest matching commit', async () => {
    const old = await get('/api/v1/commits?project=group%2Fother');
    expect(old.map((c: Json) => c.id)).toEqual([shaOf(6)]);
    const window = await get(`/api/v1/commits?project=group%2Frepo&from=${daysAgo(12)}&to=${daysAgo(9)}`);
    expect(window.map((c: Json) => c.id)).toEqual([shaOf(1)]);
    expect(await get('/api/v1/commits?project=nobody%2Fnothing')).toEqual([]);
  });

  test('/projects lists projects with commits and a light config', async () => {
    const projects = await get('/api/v1/projects');
    expect(Object.keys(projects)).toEqual(['group/other', 'group/repo']);
    expect(projects['group/repo']).toMatchObject({ total_commits: 5, latest_commit_datetime: expect.stringMatching(/\+00:00$/) });
    expect(Object.keys(projects['group/repo'].data.qatools_config)).toEqual(['project']);
    expect(projects['group/repo'].data.qatools_metrics).toBeUndefined();
    const full = await get('/api/v1/project?project=group%2Frepo');
    expect(full.qatools_metrics).toBeDefined();
  });

  test('/project/branches lists distinct branches, sorted', async () => {
    expect(await get('/api/v1/project/branches?project=group%2Frepo')).toEqual(['feature/x', 'master', 'origin/dev']);
  });

  test('/output/:id answers with and without a trailing slash', async () => {
    const commit = await get(`/api/v1/commit/${shaOf(4)}?project=group%2Frepo`);
    const id = Object.keys(commit.batches.default.outputs)[0];
    const output = await get(`/api/v1/output/${id}/`);
    expect(output).toEqual(await get(`/api/v1/output/${id}`));
    expect(output).toMatchObject({ id: Number(id), test_input_path: 'inputs/a.jpg', is_pending: false });
  });

  test('/commit/:id writes each output as /output/:id does (the one in SQL, the other in JS)', async () => {
    // Folders derived from the run (no output_directory), with configurations, parameters and odd names.
    const derived = { output_directory: undefined, configurations: ['base', { 'ö': 1 }], extra_parameters: { lr: 0.5, tag: 'a "b"' } };
    await upload({ project: 'places/repo', input: 'in/été.jpg', batch: 'tuning été', extra: derived });
    await upload({ project: 'places/repo', input: 'in/b.jpg', extra: { ...derived, platform: 'windows' } });
    for (const [project, sha, count] of [['group%2Frepo', shaOf(2), 7], ['places%2Frepo', shaOf(1), 2]] as const) {
      const commit = await get(`/api/v1/commit/${sha}?project=${project}`);
      const outputs = Object.values(commit.batches).flatMap((batch: any) => Object.entries(batch.outputs));
      expect(outputs).toHaveLength(count);
      for (const [id, output] of outputs) expect(output).toStrictEqual(await get(`/api/v1/output/${id}`));
    }
  });
});

describe.each(engineNames)('the aggregate cache on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  const cachedMetrics = async () =>
    (await queryRows<{ metric: string }>(database.db, sql`SELECT DISTINCT metric FROM batch_metric_aggregates ORDER BY metric`)).map((r) => r.metric);

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db);
    const definitions = { available_metrics: { psnr: { label: 'PSNR', smaller_is_better: false }, sharpness: { label: 'Sharpness' } } };
    for (const input of ['a', 'b']) {
      const upload = { ...outputUpload({ project: 'cache/repo', input, metrics: { psnr: 30, loss: 1 } }), qaboard_metrics: definitions };
      expect((await postJson(app, '/api/v1/output/', upload)).status).toBe(200);
    }
  });
  afterAll(() => database?.close());

  test('reads cache the metrics the project defines and those its outputs have; made-up names are computed, never stored', async () => {
    const madeUp = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`made-up-${i}`, 0]));
    const metrics = encodeURIComponent(JSON.stringify({ ...madeUp, loss: 0 }));
    const response = await app.request(`/api/v1/commits?project=cache%2Frepo&metrics=${metrics}`);
    expect(response.status).toBe(200);
    const [commit] = (await response.json()) as Json[];
    expect(commit!.batches.default.aggregated_metrics).toEqual({ loss_median: 1, loss_average: 1 });
    expect(await cachedMetrics()).toEqual(['loss']);
    // A commit by its id (its statements may find it themselves): the same answer, the same rule.
    const byId = await app.request(`/api/v1/commit/${commit!.id}?project=cache%2Frepo&metrics=${metrics}`);
    expect(((await byId.json()) as Json).batches.default.aggregated_metrics).toEqual({ loss_median: 1, loss_average: 1 });
    expect(await cachedMetrics()).toEqual(['loss']);

    const defined = await app.request(`/api/v1/commits?project=cache%2Frepo&metrics=${encodeURIComponent('{"psnr": 0, "loss": 0}')}`);
    expect(((await defined.json()) as Json[])[0]!.batches.default.aggregated_metrics).toEqual({ psnr_median: 30, psnr_average: 30, loss_median: 1, loss_average: 1 });
    expect(await cachedMetrics()).toEqual(['loss', 'psnr']);
  });

  test('a metric the project defines is stored even when no output has it (as no value)', async () => {
    const definedOnly = await app.request(`/api/v1/commits?project=cache%2Frepo&metrics=${encodeURIComponent('{"sharpness": 0}')}`);
    expect(((await definedOnly.json()) as Json[])[0]!.batches.default.aggregated_metrics).toEqual({});
    expect(await cachedMetrics()).toContain('sharpness');
  });

  test('a read naming a metric no output has computes that one alone: the cached rows are left as they are', async () => {
    const rowVersions = async () =>
      (await queryRows<{ v: string }>(database.db, sql`SELECT metric || ':' || xmin::text AS v FROM batch_metric_aggregates ORDER BY metric`)).map((r) => r.v);
    const read = (metrics: Record<string, number>) => app.request(`/api/v1/commits?project=cache%2Frepo&metrics=${encodeURIComponent(JSON.stringify(metrics))}`);
    expect((await read({ psnr: 0, loss: 0 })).status).toBe(200);
    const before = await rowVersions();
    for (let i = 0; i < 3; i++) {
      const response = await read({ psnr: 0, loss: 0, nope: 0 });
      expect(((await response.json()) as Json[])[0]!.batches.default.aggregated_metrics).toEqual({ psnr_median: 30, psnr_average: 30, loss_median: 1, loss_average: 1 });
    }
    expect(await rowVersions()).toEqual(before);
  });

  test('concurrent reads storing the same aggregates in different orders all answer (no deadlock)', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `m${i}`);
    for (const batch of ['b1', 'b2', 'b3', 'b4', 'b5']) {
      for (const input of ['a', 'b']) {
        const metrics = Object.fromEntries(names.map((name, i) => [name, i]));
        expect((await postJson(app, '/api/v1/output/', outputUpload({ project: 'race/repo', batch, input, metrics }))).status).toBe(200);
      }
    }
    for (let round = 0; round < 4; round++) {
      // A new upload in every batch each round: every read finds the cache stale and stores it again.
      for (const batch of ['b1', 'b2', 'b3', 'b4', 'b5']) {
        expect((await postJson(app, '/api/v1/output/', outputUpload({ project: 'race/repo', batch, input: `r${round}`, metrics: { m0: round } }))).status).toBe(200);
      }
      const statuses = await Promise.all(
        Array.from({ length: 16 }, async (_, k) => {
          const order = k % 2 ? [...names].reverse() : names;
          const metrics = encodeURIComponent(JSON.stringify(Object.fromEntries([...order, 'nope'].map((name) => [name, 0]))));
          return (await app.request(`/api/v1/commits?project=race%2Frepo&metrics=${metrics}`)).status;
        }),
      );
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
    }
  });

  test('a cached aggregate follows the outputs: an upload that changes a value changes the answer', async () => {
    const read = async () =>
      ((await (await app.request(`/api/v1/commits?project=cache%2Frepo&metrics=${encodeURIComponent('{"loss": 0}')}`)).json()) as Json[])[0]!.batches.default
        .aggregated_metrics;
    expect(await read()).toEqual({ loss_median: 1, loss_average: 1 });
    expect((await postJson(app, '/api/v1/output/', outputUpload({ project: 'cache/repo', input: 'b', metrics: { psnr: 30, loss: 3 } }))).status).toBe(200);
    expect(await read()).toEqual({ loss_median: 2, loss_average: 2 });
  });
});

describe.each(engineNames)('pages of the commit list on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db);
    for (let i = 1; i <= 5; i++) {
      expect((await postJson(app, '/api/v1/output/', outputUpload({ project: 'pages/repo', sha: shaOf(i), authored: daysAgo(i / 10) }))).status).toBe(200);
    }
  });
  afterAll(() => database?.close());

  test('`limit` cuts pages; `Link: rel="next"` leads to the rest, and the last page has none', async () => {
    const ids: string[] = [];
    let path: string | undefined = '/api/v1/commits?project=pages%2Frepo&limit=2';
    for (let pages = 0; path && pages < 5; pages++) {
      const response = await app.request(path);
      expect(response.status).toBe(200);
      ids.push(...((await response.json()) as Json[]).map((c) => c.id));
      path = /^<([^>]+)>; rel="next"$/.exec(response.headers.get('link') ?? '')?.[1];
    }
    expect(ids).toEqual([1, 2, 3, 4, 5].map(shaOf));
    expect((await app.request('/api/v1/commits?project=pages%2Frepo')).headers.get('link')).toBeNull();
    const cursor = (value: unknown) => btoa(JSON.stringify(value)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
    const forgeries = [
      'not-a-cursor',
      ...[
        ['1', 1],
        ['0000-01-01T00:00:00.000000+00:00', 1],
        ['+275760-09-13T00:00:00.000Z', 1],
        ['March 7 2026 10:00 PST', 1],
        ['2026-01-01T00:00:00.000000+00:00', 2147483648],
        ['2026-01-01T00:00:00.000000+00:00', 1e20],
        ['2026-02-30T00:00:00.000000+00:00', 1],
      ].map((after) => cursor({ from: 0, to: 1e15, after })),
    ];
    for (const forged of forgeries) {
      const response = await app.request(`/api/v1/commits?project=pages%2Frepo&cursor=${forged}`);
      expect(response.status, forged).toBe(400);
      expect(await response.text()).toContain('cursor');
    }
  });
});
