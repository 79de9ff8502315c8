/**
 * Rate limits protect the service from abuse without losing results: the qa CLI doesn't retry a
 * 429, so ingestion is not throttled by default, while reads, anonymous floods and failed
 * authentications are. Keys come from what the client can't forge: the token, else the socket's
 * address — `X-Forwarded-For` only behind trusted proxies (TRUST_PROXY).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../src/config';
import { memoryRateLimiter } from '../src/lib/rate-limit';
import { NODE_DEFAULTS, nodeApp } from '../src/node-app';
import { memoryLogger, postJson, testApp } from './support/app';
import { engineNames, openTestDatabase, rowCounts, type TestDatabase } from './support/databases';
import { outputUpload, shaOf } from './support/uploads';

const ADMIN_TOKEN = 'bootstrap-admin-token-for-tests';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe.each(engineNames)('rate limits on %s', (engine) => {
  let database: TestDatabase;
  const servers: ServerType[] = [];

  /** The app behind a real HTTP server: the client address comes from the socket, as in production on Node. */
  async function served(env: Record<string, string>) {
    const app = nodeApp(database.db, parseConfig(env, NODE_DEFAULTS), { logger: memoryLogger() });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    servers.push(server);
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
  }

  async function newToken(env: Record<string, string>, spec: object) {
    const response = await postJson(testApp(database.db, env), '/api/v1/tokens', spec, bearer(ADMIN_TOKEN));
    return ((await response.json()) as { token: string }).token;
  }

  beforeAll(async () => {
    database = await openTestDatabase(engine);
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await database?.close();
  });

  test('per token: 429 + Retry-After once spent; other callers are unaffected', async () => {
    const env = { RATE_LIMIT_PER_MINUTE: '3', AUTH_MODE: 'write', ADMIN_TOKEN };
    const limited = testApp(database.db, env);
    const token = await newToken(env, { name: 'reader', scopes: ['read'] });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await limited.request('/api/v1/projects', { headers: bearer(token) })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await limited.request('/api/v1/projects', { headers: bearer(token) });
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect((await limited.request('/api/v1/projects')).status).toBe(200); // anonymous: another key
  });

  test('forwarding headers a client writes do not choose its key when no proxy is trusted', async () => {
    const call = await served({ RATE_LIMIT_PER_MINUTE: '3', AUTH_MODE: 'write' });
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const spoofed = { 'x-forwarded-for': `203.0.113.${i}`, 'cf-connecting-ip': `198.51.100.${i}` };
      statuses.push((await call('/api/v1/projects', { headers: spoofed })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  test('behind a trusted proxy, the address it appended is the key — not what the client wrote before it', async () => {
    const call = await served({ RATE_LIMIT_PER_MINUTE: '3', AUTH_MODE: 'write', TRUST_PROXY: '1' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call('/api/v1/projects', { headers: { 'x-forwarded-for': `10.9.9.${i}, 203.0.113.5` } })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Another client behind the same proxy has its own budget: one exhausted client can't starve the rest.
    expect((await call('/api/v1/projects', { headers: { 'x-forwarded-for': '198.51.100.7' } })).status).toBe(200);
  });

  test('failed authentications are limited per address, and then even a valid token from it waits', async () => {
    const env = { AUTH_MODE: 'all', ADMIN_TOKEN, AUTH_FAILURES_PER_MINUTE: '5', TRUST_PROXY: '1' };
    const token = await newToken(env, { name: 'valid', scopes: ['read'] });
    const call = await served(env);
    const from = (address: string, credential: string) => ({ headers: { 'x-forwarded-for': address, ...bearer(credential) } });
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await call('/api/v1/projects', from('203.0.113.66', `qab_guess${i}`))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // A correct guess would be indistinguishable now: the address is refused before any token is checked.
    const blocked = await call('/api/v1/projects', from('203.0.113.66', token));
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call('/api/v1/projects', from('198.51.100.20', token))).status).toBe(200);
    // Malformed credentials count as failures too.
    const malformed = [];
    for (let i = 0; i < 6; i++) malformed.push((await call('/api/v1/projects', { headers: { 'x-forwarded-for': '203.0.113.77', authorization: 'Digest x' } })).status);
    expect(malformed).toEqual([401, 401, 401, 401, 401, 429]);
  });

  test('with the default limits, a CI burst of uploads beyond the read limit is stored whole; reads are limited', async () => {
    const app = testApp(database.db, { RATE_LIMIT_PER_MINUTE: '20' });
    const uploads = Array.from({ length: 300 }, (_, i) => outputUpload({ project: 'limits/burst', sha: shaOf(1), input: `inputs/${i}.jpg` }));
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < uploads.length) statuses.push((await postJson(app, '/api/v1/output/', uploads[next++])).status);
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const reads = [];
    for (let i = 0; i < 21; i++) reads.push((await app.request('/api/v1/projects')).status);
    expect(reads.at(-1)).toBe(429);
    expect((await rowCounts(database.db)).outputs).toBeGreaterThanOrEqual(300);
  });

  test('RATE_LIMIT_INGEST_PER_MINUTE throttles ingestion when an operator sets it', async () => {
    const app = testApp(database.db, { RATE_LIMIT_INGEST_PER_MINUTE: '2' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await postJson(app, '/api/v1/output/', outputUpload({ project: 'limits/ingest', input: `i${i}` }))).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe('the in-memory limiter', () => {
  test('opens a new window after a minute', async () => {
    let now = 0;
    const limiter = memoryRateLimiter(1, { now: () => now });
    expect(await limiter.limit('k')).toEqual({ allowed: true });
    expect(await limiter.limit('k')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    now = 45_000;
    expect(await limiter.limit('k')).toEqual({ allowed: false, retryAfterSeconds: 15 });
    now = 60_000;
    expect(await limiter.limit('k')).toEqual({ allowed: true });
  });

  test('holds a bounded number of keys, and a flood of new keys does not reset a throttled caller', async () => {
    const limiter = memoryRateLimiter(5, { maxKeys: 100 });
    for (let i = 0; i < 6; i++) await limiter.limit('busy-ci');
    expect((await limiter.limit('busy-ci')).allowed).toBe(false);
    for (let i = 0; i < 20_000; i++) await limiter.limit(`flood-${i}`);
    expect(limiter.keys).toBeLessThanOrEqual(100);
    expect((await limiter.limit('busy-ci')).allowed).toBe(false);
  });
});
