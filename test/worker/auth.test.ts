/** Access control, CORS and the rate-limit binding in workerd (the Worker's own crypto, Neon driver and `ratelimits` binding). */
import { exports } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import { WORKER_TEST_ADMIN_TOKEN } from './worker-credentials';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`http://qaboard.test${path}`, init));

describe('the Worker’s access control', () => {
  test('a deployed Worker is secure by default: AUTH_MODE=write — reads public, writes need a token — and says so', async () => {
    expect((await call('/api/v1/projects')).status).toBe(200);
    const write = await call('/api/v1/commit/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"project": "x/y", "commit_sha": "abcd1234"}' });
    expect(write.status).toBe(401);
    expect(write.headers.get('www-authenticate')).toContain('Bearer');
    const health = await call('/api/v1/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', auth_mode: 'write', database: { ok: true } });
  });

  test('an unknown or unreadable credential is refused, as Bearer and as Basic', async () => {
    for (const authorization of ['Bearer qab_unknown', `Basic ${btoa('qa:qab_unknown')}`, 'Token qab_x']) {
      const response = await call('/api/v1/projects', { headers: { authorization } });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Basic');
    }
  });

  test('hostile uploads: a __proto__ key and a javascript: folder are 400s naming them; a cross-site Basic write is refused (attack findings F2, F3, M3)', async () => {
    const basic = { 'content-type': 'application/json', authorization: `Basic ${btoa(`ci:${WORKER_TEST_ADMIN_TOKEN}`)}` };
    const commit = { project: 'worker/hostile', commit_sha: 'abcd1234abcd1234' };
    const proto = await call('/api/v1/commit/', { method: 'POST', headers: basic, body: JSON.stringify({ ...commit, data: { PROTO: { polluted: 1 } } }).replace('PROTO', '__proto__') });
    expect(proto.status).toBe(400);
    expect(((await proto.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe('data.__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const link = await call('/api/v1/commit/', { method: 'POST', headers: basic, body: JSON.stringify({ ...commit, artifacts_commit: 'javascript://%0Aalert(1)' }) });
    expect(link.status).toBe(400);
    expect(((await link.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain('artifacts_commit');
    const crossSite = await call('/api/v1/commit/', { method: 'POST', headers: { ...basic, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, body: JSON.stringify(commit) });
    expect(crossSite.status).toBe(403);
    expect((await call('/api/v1/commit/', { method: 'POST', headers: basic, body: JSON.stringify(commit) })).status).toBe(200); // the qa CLI
  });

  test('token management needs an admin token', async () => {
    const response = await call('/api/v1/tokens');
    expect(response.status).toBe(401);
  });

  test('the rate-limit binding lets ordinary traffic through', async () => {
    const statuses = await Promise.all(Array.from({ length: 5 }, () => call('/api/v1/projects').then((r) => r.status)));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
  });

  test('serves the OpenAPI document and the docs page', async () => {
    const document = (await (await call('/api/openapi.json')).json()) as { openapi: string; paths: object };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/api/v1/tokens');
    expect(await (await call('/api/docs')).text()).toContain('/api/openapi.json');
  });
});
