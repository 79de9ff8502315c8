/**
 * Unrestricted resource consumption and misconfiguration (OWASP API 4 and 8): body size, JSON depth,
 * CORS (rate limiting: rate-limits.test.ts); and hostile strings in every string field and query parameter.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { postJson, testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, rowCounts, type TestDatabase } from './support/databases';
import { outputUpload, shaOf } from './support/uploads';

const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { level: nested(depth - 1) });

describe.each(engineNames)('limits on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db); // the defaults: 1 MB bodies, 32 levels of JSON
  });
  afterAll(() => database?.close());

  test('a body over 1 MB → 413 problem+json, nothing written', async () => {
    const before = await rowCounts(database.db);
    const upload = { ...outputUpload(), data: { padding: 'x'.repeat(1024 * 1024) } };
    const response = await postJson(app, '/api/v1/output/', upload);
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 413, error: expect.stringContaining('1048576') });
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test('a streamed body (no Content-Length) over the limit → 413 too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await app.request('/api/v1/output/', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
  });

  test('JSON nested deeper than 32 levels → 400 naming the body; 20 levels are fine', async () => {
    const deep = await postJson(app, '/api/v1/output/', { ...outputUpload(), data: nested(40) });
    expect(deep.status).toBe(400);
    expect(await deep.json()).toMatchObject({ errors: [{ field: '(body)' }], error: expect.stringContaining('32') });
    const fine = await postJson(app, '/api/v1/output/', { ...outputUpload(), data: nested(20) });
    expect(fine.status).toBe(200);
  });

  test('bulk and window limits are enforced by the contracts', async () => {
    const tooManyConfigurations = await postJson(app, '/api/v1/output/', { ...outputUpload(), configurations: Array(1001).fill('c') });
    expect(tooManyConfigurations.status).toBe(400);
    const tooManyMetrics = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`m${i}`, 0]));
    const list = await app.request(`/api/v1/commits?project=group%2Frepo&metrics=${encodeURIComponent(JSON.stringify(tooManyMetrics))}`);
    expect(list.status).toBe(400);
  });

  test('metrics= is bounded on the commit list and a commit (count, name length, text): a 400 naming metrics, before any read or write', async () => {
    const upload = await postJson(app, '/api/v1/output/', outputUpload({ metrics: { psnr: 30 } }));
    expect(upload.status).toBe(200);
    const sha = ((await upload.json()) as { commit_sha?: string }).commit_sha ?? (outputUpload().commit_sha as string);
    const cached = async () => (await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM batch_metric_aggregates`))[0]!.n;
    const cachedBefore = await cached();
    const bad = [
      Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`m${i}`, 0])),
      { ['m'.repeat(257)]: 0 },
      { '\ud800': 0 },
      { '': 0 },
    ].map((metrics) => JSON.stringify(metrics)); // JSON.stringify writes the lone surrogate as the escape \ud800
    for (const metrics of [...bad, 'x'.repeat(8193), '[1]', '{"a":']) {
      for (const path of ['/api/v1/commits?project=group%2Frepo&', `/api/v1/commit/${sha}?project=group%2Frepo&`]) {
        const response = await app.request(`${path}metrics=${encodeURIComponent(metrics)}`);
        expect(response.status, `${path} ${metrics.slice(0, 40)}`).toBe(400);
        expect(((await response.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['metrics']);
      }
    }
    expect(await cached()).toBe(cachedBefore);
  });

  describe('CORS', () => {
    const WEB_APP = 'https://qaboard.example.com';
    const preflight = (target: TestApp, origin: string) =>
      target.request('/api/v1/output/', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
      });

    test('preflight from the allowed origin succeeds before authentication, without credentials by default', async () => {
      const cors = testApp(database.db, { CORS_ORIGINS: `${WEB_APP}, https://other.example.com`, AUTH_MODE: 'all' });
      const response = await preflight(cors, WEB_APP);
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(WEB_APP);
      expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      const simple = await cors.request('/api/openapi.json', { headers: { origin: WEB_APP } });
      expect(simple.headers.get('access-control-allow-origin')).toBe(WEB_APP);
      // The web app must be able to read why it was refused.
      const refused = await cors.request('/api/v1/projects', { headers: { origin: WEB_APP } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(WEB_APP);
      // Headers set before the route answers are on every answer, refusals included, once each.
      for (const answer of [simple, refused]) {
        expect(answer.headers.get('vary')).toBe('Origin');
        expect(answer.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
        expect(answer.headers.get('x-request-id')).toMatch(/^[\w-]{36}$/);
      }
    });

    test('other origins get no CORS headers; none at all when no origin is configured', async () => {
      const cors = testApp(database.db, { CORS_ORIGINS: WEB_APP });
      expect((await preflight(cors, 'https://evil.example.net')).headers.get('access-control-allow-origin')).toBeNull();
      expect((await preflight(app, WEB_APP)).headers.get('access-control-allow-origin')).toBeNull();
    });

    test('credentials only when configured', async () => {
      const cors = testApp(database.db, { CORS_ORIGINS: WEB_APP, CORS_CREDENTIALS: 'true' });
      expect((await preflight(cors, WEB_APP)).headers.get('access-control-allow-credentials')).toBe('true');
    });
  });

  describe('hostile strings are stored verbatim and harmless', () => {
    const HOSTILE = [
      "x'; DROP TABLE outputs; --",
      'x" OR 1=1 --',
      '../../../../etc/passwd',
      '..%2F..%2Fetc%2Fpasswd',
      '$(rm -rf /) `id` ${HOME}',
      '<script>alert(1)</script>',
    ];

    test.each(HOSTILE.map((s, i) => [s, i] as const))('%s in every string field and query parameter', async (hostile, i) => {
      const project = `group/${hostile}`;
      const sha = shaOf(100 + i);
      const upload = {
        ...outputUpload({ project, sha, branch: hostile, batch: hostile, input: hostile, committer: hostile, metrics: { [hostile]: 1 } }),
        commit_message: hostile,
        commit_tag: hostile,
        user: hostile,
        platform: hostile,
        database: hostile,
        input_type: hostile,
        configurations: [hostile, { [hostile]: hostile }],
        extra_parameters: { [hostile]: hostile },
        input_metadata: { [hostile]: hostile },
      };
      const posted = await postJson(app, '/api/v1/output/', upload);
      expect(posted.status).toBe(200);
      const output = (await posted.json()) as Record<string, unknown>;
      expect(output).toMatchObject({
        platform: hostile,
        test_input_database: hostile,
        test_input_path: hostile,
        configurations: [hostile, { [hostile]: hostile }],
        extra_parameters: { [hostile]: hostile },
        metrics: { [hostile]: 1 },
      });

      const p = encodeURIComponent(project);
      const h = encodeURIComponent(hostile);
      const metrics = encodeURIComponent(JSON.stringify({ [hostile]: 0 }));
      const commit = (await (await app.request(`/api/v1/commit/${sha}?project=${p}&batch=${h}&metrics=${metrics}`)).json()) as {
        message: string;
        committer_name: string;
        branch: string;
        batches: Record<string, { aggregated_metrics: Record<string, number> }>;
      };
      expect(commit).toMatchObject({ message: hostile, committer_name: hostile, branch: hostile });
      expect(commit.batches[hostile]!.aggregated_metrics).toEqual({ [`${hostile}_median`]: 1, [`${hostile}_average`]: 1 });

      const reads = [
        `/api/v1/commit?project=${p}&branch=${h}&batch=${h}`,
        `/api/v1/commits?project=${p}&committer=${h}&batch=${h}&metrics=${metrics}`,
        `/api/v1/commits/${h}?project=${p}`,
        `/api/v1/project?project=${p}`,
        `/api/v1/project/branches?project=${p}`,
      ];
      for (const read of reads) expect((await app.request(read)).status, read).toBe(200);
      const listed = (await (await app.request(`/api/v1/commits?project=${p}&committer=${h}`)).json()) as { id: string }[];
      expect(listed.map((c) => c.id)).toEqual([sha]);
      expect(await (await app.request(`/api/v1/project/branches?project=${p}`)).json()).toEqual([hostile]);
      // Nothing was dropped or rewritten along the way.
      expect((await rowCounts(database.db)).outputs).toBeGreaterThan(i);
    });

    test('path traversal in path segments stays a lookup', async () => {
      for (const path of ['/api/v1/commits/..%2F..%2Fetc%2Fpasswd?project=group%2Frepo', '/api/v1/commit/..%2F..%2Fetc%2Fpasswd?project=group%2Frepo']) {
        const response = await app.request(path);
        expect([200, 400, 404]).toContain(response.status);
        expect(await response.text()).not.toContain('root:');
      }
    });
  });
});
