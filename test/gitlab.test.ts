/** The GitLab integration: webhook → queue → consumer → database, and commit backfills, against a fake GitLab. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { inProcessGitLabQueue } from '../src/gitlab/in-process-gitlab-queue';
import type { InProcessQueue } from '../src/jobs/in-process-queue';
import type { GitLabJob } from '../src/gitlab/jobs';
import { postJson, testApp, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, rowCounts, type TestDatabase } from './support/databases';
import { startFakeGitLab, type FakeGitLab } from './support/fake-gitlab';
import { HEAD_SHA, ispPipelineRepository, PARENT_SHA, pushEventBody, ROOT_CONFIG } from './support/gitlab-fixtures';
import { outputUpload } from './support/uploads';

type Json = Record<string, any>;
const SECRET = 'webhook-secret';

describe.each(engineNames)('GitLab integration on %s', (engine) => {
  let database: TestDatabase;
  let gitlab: FakeGitLab;
  let queue: InProcessQueue<GitLabJob>;
  let app: TestApp;

  const webhook = (body: unknown, headers: Record<string, string> = {}) =>
    postJson(app, '/webhook/gitlab', body, { 'x-gitlab-token': SECRET, 'x-gitlab-event': 'Push Hook', ...headers });
  const projectsData = async (): Promise<Json> =>
    Object.fromEntries(
      (await queryRows<{ id: string; data: Json }>(database.db, sql`SELECT id, data FROM projects ORDER BY id`)).map((p) => [p.id, p.data]),
    );
  const commits = () =>
    queryRows<Json>(database.db, sql`SELECT project_id, hexsha, branch, message, committer_name, parents, data,
      to_char(authored_datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS authored FROM ci_commits ORDER BY project_id`);
  const pushTo = async (branch: string, sha = HEAD_SHA) => {
    const response = await webhook({ ...pushEventBody(), ref: `refs/heads/${branch}`, checkout_sha: sha, after: sha });
    expect(response.status).toBe(202);
    await queue.idle();
  };

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    gitlab = await startFakeGitLab([ispPipelineRepository()]);
  });
  beforeEach(async () => {
    await emptyTables(database.db);
    gitlab.repositories.set('vision/isp-pipeline', ispPipelineRepository());
    gitlab.requests.length = 0;
    gitlab.failures = [];
    const gitlabOptions = { url: gitlab.url, token: gitlab.token, timeoutMs: 5000, retryDelayMs: 1 };
    queue = inProcessGitLabQueue(database.db, gitlabOptions, { delayScale: 0 });
    app = testApp(database.db, { GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token, GITLAB_WEBHOOK_SECRET: SECRET }, { gitlabQueue: queue });
  });
  afterAll(async () => {
    await gitlab?.close();
    await database?.close();
  });

  describe('the webhook', () => {
    test('refuses a missing or wrong token with 401, and queues nothing', async () => {
      for (const headers of [{ 'x-gitlab-token': 'wrong' }, { 'x-gitlab-token': '' }]) {
        const response = await webhook(pushEventBody(), headers);
        expect(response.status).toBe(401);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
      }
      await queue.idle();
      expect(gitlab.requests).toEqual([]);
      expect(await rowCounts(database.db)).toMatchObject({ projects: 0 });
    });

    test('refuses a body that is not a push event with 400 naming the field', async () => {
      const response = await webhook({ ...pushEventBody(), checkout_sha: 42 });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('checkout_sha');
      expect(gitlab.requests).toEqual([]);
    });

    test('ignores other events and branch deletions with a 2xx that says why', async () => {
      const mergeRequest = await webhook({ object_kind: 'merge_request' }, { 'x-gitlab-event': 'Merge Request Hook' });
      expect(mergeRequest.status).toBe(200);
      expect(await mergeRequest.json()).toMatchObject({ status: 'ignored', reason: expect.stringContaining('Merge Request Hook') });
      const deletion = await webhook({ ...pushEventBody(), checkout_sha: null, after: '0'.repeat(40) });
      expect(deletion.status).toBe(200);
      expect(await deletion.json()).toMatchObject({ status: 'ignored', reason: expect.stringContaining('deleted') });
      await queue.idle();
      expect(gitlab.requests).toEqual([]);
    });

    test('answers 202 at once, whatever GitLab takes', async () => {
      gitlab.delayMs = 300;
      const started = performance.now();
      const response = await webhook(pushEventBody(), { 'x-gitlab-event-uuid': 'evt-1' });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ status: 'queued', event: 'evt-1' });
      expect(performance.now() - started).toBeLessThan(250);
      await queue.idle();
      gitlab.delayMs = 0;
      expect(Object.keys(await projectsData())).toHaveLength(3);
    });
  });

  describe('the push consumer', () => {
    test('creates the three projects with configs merged from the root down, in few requests', async () => {
      await pushTo('feature/denoise-v2');
      const projects = await projectsData();
      expect(Object.keys(projects)).toEqual(['vision/isp-pipeline', 'vision/isp-pipeline/denoise', 'vision/isp-pipeline/hdr']);
      const denoise = projects['vision/isp-pipeline/denoise'];
      expect(denoise.qatools_config).toMatchObject({
        project: { name: 'vision/isp-pipeline/denoise', reference_branch: 'master' },
        inputs: { database: { linux: '/mnt/datasets/isp' }, batches: ['denoise/qa/batches.yaml'] },
        outputs: { metrics: 'qa/metrics.yaml' },
      });
      expect(denoise.git).toMatchObject({ id: 1207, path_with_namespace: 'vision/isp-pipeline' });
      expect(projects['vision/isp-pipeline/hdr'].qatools_metrics).toEqual({ available_metrics: { ssim: { label: 'SSIM', target: 0.9 } } });
      expect(projects['vision/isp-pipeline'].qatools_metrics.available_metrics).toHaveProperty('psnr');

      const rows = await commits();
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        expect(row).toMatchObject({
          hexsha: HEAD_SHA,
          branch: 'feature/denoise-v2',
          committer_name: 'Grace Hopper',
          parents: [PARENT_SHA],
          authored: '2026-11-20T09:47:55',
        });
        expect(row.data.qatools_config.project.name).toBe(row.project_id);
      }
      // 2 tree pages (156 entries at 100 per page), 3 configs, 2 metrics files (root's shared by 2 projects), 1 commit, its author's avatar.
      const count = (re: RegExp) => gitlab.requests.filter((r) => re.test(r)).length;
      expect(count(/\/repository\/tree/)).toBe(2);
      expect(count(/qaboard\.yaml\/raw/)).toBe(3);
      expect(count(/metrics\.yaml\/raw/)).toBe(2);
      expect(count(/\/repository\/commits\//)).toBe(1);
      expect(count(/^\/api\/v4\/avatar\?email=grace%40example\.com$/)).toBe(1);
      expect(gitlab.requests).toHaveLength(9);
    });

    test('the commit shows its author’s GitLab avatar; an author GitLab only knows from Gravatar gets "" (the web app draws initials)', async () => {
      const avatar = `${gitlab.url}/uploads/-/system/user/avatar/9/grace.png`;
      gitlab.identity.users.set('grace', { id: 9, username: 'grace', name: 'Grace Hopper', email: 'grace@example.com', avatar_url: avatar, state: 'active', memberships: {} });
      await pushTo('feature/denoise-v2');
      await pushTo('master', PARENT_SHA);
      const avatarOf = async (sha: string) =>
        ((await (await app.request(`/api/v1/commit/${sha}?project=vision%2Fisp-pipeline`)).json()) as Json).committer_avatar_url;
      expect(await avatarOf(HEAD_SHA)).toBe(avatar);
      expect(await avatarOf(PARENT_SHA)).toBe('');
      gitlab.identity.users.delete('grace');
    });

    test('the project takes a new config only from its reference branch; the commit always does', async () => {
      await pushTo('feature/denoise-v2');
      const repository = gitlab.repositories.get('vision/isp-pipeline')!;
      repository.files['qaboard.yaml'] = ROOT_CONFIG.replace('/mnt/qaboard', '/mnt/feature');
      await pushTo('feature/other', PARENT_SHA);
      expect((await projectsData())['vision/isp-pipeline'].qatools_config.storage).toBe('/mnt/qaboard');
      const featureCommit = (await commits()).find((c) => c.hexsha === PARENT_SHA && c.project_id === 'vision/isp-pipeline')!;
      expect(featureCommit.data.qatools_config.storage).toBe('/mnt/feature');
      await pushTo('master', PARENT_SHA);
      expect((await projectsData())['vision/isp-pipeline/hdr'].qatools_config.storage).toBe('/mnt/feature');
    });

    test('a tag push records the commit without naming a branch', async () => {
      const response = await webhook({ ...pushEventBody(), object_kind: 'tag_push', ref: 'refs/tags/v1.2.0' }, { 'x-gitlab-event': 'Tag Push Hook' });
      expect(response.status).toBe(202);
      await queue.idle();
      expect((await commits()).map((c) => c.branch)).toEqual([null, null, null]);
    });

    test('a redelivered message changes nothing', async () => {
      await pushTo('feature/denoise-v2');
      const before = { projects: await projectsData(), commits: await commits(), counts: await rowCounts(database.db) };
      await pushTo('feature/denoise-v2');
      expect({ projects: await projectsData(), commits: await commits(), counts: await rowCounts(database.db) }).toEqual(before);
    });

    test('GitLab rate limits and errors are retried with backoff, then succeed', async () => {
      gitlab.failures = [
        { match: /\/repository\/tree$/, status: 429, retryAfter: 30, times: 1 },
        { match: /qaboard\.yaml\/raw$/, status: 500, times: 3 },
      ];
      await pushTo('feature/denoise-v2');
      expect(Object.keys(await projectsData())).toHaveLength(3);
      expect(queue.deadLetters).toEqual([]);
      expect(gitlab.failures.every((f) => f.times === 0)).toBe(true);
    });

    test('a job that keeps failing goes to the dead letters after its retries, writing nothing', async () => {
      gitlab.failures = [{ match: /\/repository\/tree$/, status: 502, times: Infinity }];
      await pushTo('feature/denoise-v2');
      expect(queue.deadLetters).toHaveLength(1);
      expect(queue.deadLetters[0]!.message).toMatchObject({ type: 'push', checkoutSha: HEAD_SHA });
      expect(await rowCounts(database.db)).toMatchObject({ projects: 0, ci_commits: 0 });
    });
  });

  describe('commit backfill', () => {
    const bareUpload = (sha: string) => ({
      ...outputUpload({ project: 'vision/isp-pipeline/hdr', sha }),
      commit_message: undefined,
      commit_committer_name: undefined,
      commit_authored_datetime: undefined,
      commit_branch: undefined,
      commit_parents: undefined,
    });

    test('fills the metadata of a commit an upload created without any', async () => {
      expect((await postJson(app, '/api/v1/output/', bareUpload(PARENT_SHA))).status).toBe(200);
      await queue.idle();
      const [commit] = await commits();
      expect(commit).toMatchObject({
        message: 'Tune the bilateral filter radius\n',
        committer_name: 'Ada Lovelace',
        branch: 'master',
        parents: [],
        authored: '2026-11-20T08:12:03',
      });
    });

    test('uploads that describe their commit queue nothing', async () => {
      expect((await postJson(app, '/api/v1/output/', outputUpload({ project: 'vision/isp-pipeline/hdr', sha: PARENT_SHA }))).status).toBe(200);
      await queue.idle();
      expect(gitlab.requests).toEqual([]);
    });

    test('an unknown commit is left as it is, without retrying forever', async () => {
      const unknown = 'f'.repeat(40);
      expect((await postJson(app, '/api/v1/output/', bareUpload(unknown))).status).toBe(200);
      await queue.idle();
      const [commit] = await commits();
      expect(commit).toMatchObject({ hexsha: unknown, message: null, committer_name: null });
      expect(queue.deadLetters).toEqual([]);
      expect(gitlab.requests.length).toBeLessThanOrEqual(2);
    });
  });
});
