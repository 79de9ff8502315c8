/**
 * The typed client generated from openapi/openapi.json (openapi-typescript → openapi/schema.d.ts,
 * `npm run client:generate`) ingests and reads through openapi-fetch: proof that the document
 * matches the server — tsc checks the calls against the types, the server answers them.
 */
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { paths } from '../openapi/schema';
import { testApp } from './support/app';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf } from './support/uploads';

const ADMIN_TOKEN = 'bootstrap-admin-token-for-tests';

describe.each(engineNames)('the generated client on %s', (engine) => {
  let database: TestDatabase;
  let client: ReturnType<typeof createClient<paths>>;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    const app = testApp(database.db, { AUTH_MODE: 'all', ADMIN_TOKEN });
    client = createClient<paths>({ baseUrl: 'http://qaboard.test', fetch: async (request) => app.fetch(request) });
  });
  afterAll(() => database?.close());

  test('creates a token, ingests with it, reads back, and gets typed errors', async () => {
    const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
    const created = await client.POST('/api/v1/tokens', { ...admin, body: { name: 'client', scopes: ['write'], project_prefix: 'client' } });
    expect(created.response.status).toBe(201);
    const auth = { headers: { authorization: `Bearer ${created.data!.token}` } };

    const sha = shaOf(42);
    const upload = outputUpload({ project: 'client/repo', sha, metrics: { psnr: 31 } }) as paths['/api/v1/output']['post']['requestBody']['content']['application/json'];
    const posted = await client.POST('/api/v1/output', { ...auth, params: { header: { 'idempotency-key': 'client-1' } }, body: upload });
    expect(posted.error).toBeUndefined();
    expect(posted.response.status).toBe(200); // written at once (a 202 would carry a receipt instead)
    const output = posted.data!;
    if (!('id' in output)) throw new Error('expected the output, got a receipt');
    expect(output.metrics).toEqual({ psnr: 31, is_failed: false });

    const batch = await client.POST('/api/v1/batch', { ...auth, body: { project: 'client/repo', commit_sha: sha, batch_label: 'tuning' } });
    expect(batch.data).toEqual({ status: 'OK', id: expect.any(Number) });

    const commit = await client.GET('/api/v1/commit/{id}', {
      ...auth,
      params: { path: { id: sha.slice(0, 10) }, query: { project: 'client/repo', metrics: '{"psnr": 0}' } },
    });
    expect(commit.data!.id).toBe(sha);
    expect(Object.keys(commit.data!.batches).sort()).toEqual(['default', 'tuning']);
    expect(commit.data!.batches.default!.aggregated_metrics).toEqual({ psnr_median: 31, psnr_average: 31 });

    const read = await client.GET('/api/v1/output/{id}', { ...auth, params: { path: { id: output.id } } });
    expect(read.data).toMatchObject({ id: output.id, test_input_path: output.test_input_path });
    const projects = await client.GET('/api/v1/projects', auth);
    expect(Object.keys(projects.data!)).toEqual(['client/repo']);

    const outside = await client.GET('/api/v1/project', { ...auth, params: { query: { project: 'elsewhere/repo' } } });
    expect(outside.response.status).toBe(404);
    expect(outside.error).toMatchObject({ status: 404, error: expect.any(String) });
    const anonymous = await client.GET('/api/v1/projects');
    expect(anonymous.response.status).toBe(401);

    const tokens = await client.GET('/api/v1/tokens', admin);
    expect(tokens.data!.map((t) => t.name)).toContain('client');
    const revoked = await client.DELETE('/api/v1/tokens/{id}', { ...admin, params: { path: { id: created.data!.id } } });
    expect(revoked.data!.revoked_at).toEqual(expect.any(String));
  });
});
