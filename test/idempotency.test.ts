/** `Idempotency-Key` on the POST ingestion routes: replay, 422 on another payload, 409 in flight, 24 h expiry. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sha256Hex } from '../src/lib/digest';
import { queryRows } from '../src/db/client';
import { postJson, testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, rowCounts, type TestDatabase } from './support/databases';
import { outputUpload, shaOf } from './support/uploads';

const ADMIN_TOKEN = 'bootstrap-admin-token-for-tests';

describe.each(engineNames)('idempotency on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  const withKey = (key: string, extra: Record<string, string> = {}) => ({ 'idempotency-key': key, ...extra });

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db, { ADMIN_TOKEN });
  });
  afterAll(() => database?.close());

  test.each([
    ['/api/v1/output/', outputUpload({ sha: shaOf(11) })],
    ['/api/v1/batch/', { project: 'group/repo', commit_sha: shaOf(12), batch_label: 'idem' }],
    ['/api/v1/commit/', { project: 'group/repo', commit_sha: shaOf(13), data: { n: 1 } }],
    [`/api/v1/commit/${shaOf(14)}`, { project: 'group/repo', data: { n: 1 } }],
  ])('%s: the same key and payload replays the stored response without running again', async (path, body) => {
    const key = `replay:${path}`;
    const first = await postJson(app, path, body, withKey(key));
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotency-replayed')).toBeNull();
    const firstBody = await first.text();
    const counts = await rowCounts(database.db);
    const again = await postJson(app, path, body, withKey(key));
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect(await again.text()).toBe(firstBody);
    expect(await rowCounts(database.db)).toEqual(counts);
  });

  test('a replay returns the first answer even after the object changed', async () => {
    const upload = outputUpload({ sha: shaOf(15), status: 'running' });
    const first = (await (await postJson(app, '/api/v1/output/', upload, withKey('run-15-start'))).json()) as { is_pending: boolean };
    expect(first.is_pending).toBe(true);
    await postJson(app, '/api/v1/output/', outputUpload({ sha: shaOf(15), status: 'done' }));
    const replay = (await (await postJson(app, '/api/v1/output/', upload, withKey('run-15-start'))).json()) as { is_pending: boolean };
    expect(replay.is_pending).toBe(true);
  });

  test('the same key with another payload → 422, and the stored response is kept', async () => {
    const upload = outputUpload({ sha: shaOf(16) });
    expect((await postJson(app, '/api/v1/output/', upload, withKey('k16'))).status).toBe(200);
    const other = await postJson(app, '/api/v1/output/', { ...upload, metrics: { psnr: 1 } }, withKey('k16'));
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
    expect((await postJson(app, '/api/v1/output/', upload, withKey('k16'))).headers.get('idempotency-replayed')).toBe('true');
  });

  test('a request still in flight with that key → 409', async () => {
    const body = JSON.stringify({ project: 'group/repo', commit_sha: shaOf(18) });
    const digest = await sha256Hex(`POST /api/v1/commit\n${body}`);
    await database.db.execute(
      sql`INSERT INTO idempotency_keys (caller, key, request_digest, lease_expires_at) VALUES ('anonymous', 'k18', ${digest}, now() + interval '10 seconds')`,
    );
    const response = await postJson(app, '/api/v1/commit/', body, withKey('k18'));
    expect(response.status).toBe(409);
    expect(response.headers.get('retry-after')).toBe('10');
    expect(await response.json()).toMatchObject({ status: 409, error: expect.stringContaining('in progress') });
  });

  test('a claim whose holder died (its lease ran out unrenewed) is free again: the retry runs', async () => {
    const body = JSON.stringify({ project: 'group/repo', commit_sha: shaOf(19) });
    const digest = await sha256Hex(`POST /api/v1/commit\n${body}`);
    // Claimed two seconds ago by a request that crashed: its lease expired a second ago.
    await database.db.execute(
      sql`INSERT INTO idempotency_keys (caller, key, request_digest, created_at, lease_expires_at)
          VALUES ('anonymous', 'k-abandoned', ${digest}, now() - interval '2 seconds', now() - interval '1 second')`,
    );
    const response = await postJson(app, '/api/v1/commit/', body, withKey('k-abandoned'));
    expect(response.status).toBe(200);
    const replay = await postJson(app, '/api/v1/commit/', body, withKey('k-abandoned'));
    expect(replay.headers.get('idempotency-replayed')).toBe('true');
  });

  test('concurrent requests with one key: one runs, the others are refused (409) or replayed — never run twice', async () => {
    const upload = outputUpload({ sha: shaOf(22), batch: 'concurrent' });
    const responses = await Promise.all(Array.from({ length: 8 }, () => postJson(app, '/api/v1/output/', upload, withKey('k22'))));
    const ran = responses.filter((r) => r.status === 200 && !r.headers.get('idempotency-replayed'));
    expect(ran).toHaveLength(1);
    for (const r of responses) expect([200, 409]).toContain(r.status);
  });

  test('keys expire after 24 h: the request then runs anew', async () => {
    const body = { project: 'group/repo', commit_sha: shaOf(19), batch_label: 'expiring' };
    expect((await postJson(app, '/api/v1/batch/', body, withKey('k19'))).status).toBe(200);
    await database.db.execute(sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'k19'`);
    const later = await postJson(app, '/api/v1/batch/', { ...body, batch_label: 'another' }, withKey('k19'));
    expect(later.status).toBe(200);
    expect(later.headers.get('idempotency-replayed')).toBeNull();
    const [row] = await queryRows<{ age_ok: boolean }>(database.db, sql`SELECT created_at > now() - interval '1 hour' AS age_ok FROM idempotency_keys WHERE key = 'k19'`);
    expect(row!.age_ok).toBe(true);
  });

  test('keys belong to the caller: another token may use the same key', async () => {
    const created = await postJson(app, '/api/v1/tokens', { name: 'w', scopes: ['write'] }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    const { token } = (await created.json()) as { token: string };
    const body = { project: 'group/repo', commit_sha: shaOf(20) };
    expect((await postJson(app, '/api/v1/commit/', body, withKey('shared'))).status).toBe(200);
    const other = await postJson(app, '/api/v1/commit/', { ...body, data: { x: 1 } }, withKey('shared', { authorization: `Bearer ${token}` }));
    expect(other.status).toBe(200);
    expect(other.headers.get('idempotency-replayed')).toBeNull();
  });

  test('a malformed key → 400 naming the header; a request refused before running stores nothing', async () => {
    const response = await postJson(app, '/api/v1/commit/', { project: 'group/repo', commit_sha: shaOf(21) }, withKey('has spaces'));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ field: 'Idempotency-Key' }] });
    const [row] = await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'has spaces'`);
    expect(row!.n).toBe(0);
  });
});
