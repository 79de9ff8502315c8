/** Bad input gets a clear problem+json naming the field, and writes nothing. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectNodeDatabase } from '../src/db/connect-node';
import { postJson, testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, rowCounts, type RowCounts, type TestDatabase } from './support/databases';
import { outputUpload } from './support/uploads';

const without = (body: Record<string, unknown>, ...fields: string[]) =>
  Object.fromEntries(Object.entries(body).filter(([k]) => !fields.includes(k)));

describe.each(engineNames)('bad input on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  let before: RowCounts;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db, { MAX_BODY_BYTES: '65536' });
    expect((await postJson(app, '/api/v1/output/', outputUpload())).status).toBe(200);
    before = await rowCounts(database.db);
  });
  afterAll(() => database?.close());

  const invalidBodies: [string, unknown, string][] = [
    ['missing project', without(outputUpload(), 'project'), 'project'],
    ['missing commit sha', without(outputUpload(), 'commit_sha', 'git_commit_sha'), 'commit_sha'],
    ['missing input path', without(outputUpload(), 'input_path', 'rel_input_path'), 'input_path'],
    ['missing database', without(outputUpload(), 'database'), 'database'],
    ['metrics not an object', { ...outputUpload(), metrics: 'great' }, 'metrics'],
    ['is_running not a boolean', { ...outputUpload(), is_running: 'yes' }, 'is_running'],
    ['commit sha not hexadecimal', { ...outputUpload(), commit_sha: 'HEAD; DROP TABLE outputs' }, 'commit_sha'],
    ['configurations not a list', { ...outputUpload(), configurations: 'base' }, 'configurations'],
    ['authored date not ISO 8601', { ...outputUpload(), commit_authored_datetime: 'yesterday' }, 'commit_authored_datetime'],
    ['a NUL character, which Postgres cannot store', { ...outputUpload(), metrics: { note: 'a\u0000b' } }, 'metrics.note'],
  ];

  test.each(invalidBodies)('%s → 400 naming the field, nothing written', async (_case, body, field) => {
    const response = await postJson(app, '/api/v1/output/', body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as { errors: { field: string }[]; error: string; status: number };
    expect(problem.status).toBe(400);
    expect(problem.errors.map((e) => e.field)).toContain(field);
    expect(problem.error).toContain(field);
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test.each(['/api/v1/output/', '/api/v1/batch/', '/api/v1/commit/'])('%s: a body that is not JSON → 400', async (path) => {
    const response = await postJson(app, path, '{"project": "group/repo",');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test('a body that is not declared JSON → 4xx', async () => {
    const response = await app.request('/api/v1/output/', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(outputUpload()) });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test('an oversized body → 413 problem, nothing written', async () => {
    const response = await postJson(app, '/api/v1/output/', { ...outputUpload(), metrics: { blob: 'x'.repeat(100_000) } });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { status: number }).status).toBe(413);
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test('bad query parameters → 400 naming them', async () => {
    const noProject = await app.request('/api/v1/commits');
    expect(noProject.status).toBe(400);
    expect(await noProject.text()).toContain('project');
    const badMetrics = await app.request('/api/v1/commit/abc?project=group%2Frepo&metrics=%5B1%5D');
    expect(badMetrics.status).toBe(400);
    expect(await badMetrics.text()).toContain('metrics');
    const badOutputId = await app.request('/api/v1/output/latest');
    expect(badOutputId.status).toBe(400);
  });

  test.each([
    ['/api/v1/output/987654/', 'output'],
    ['/api/v1/commit/deadbeef?project=group%2Frepo', 'commit'],
    ['/api/v1/commit/?project=nobody%2Fnothing', 'commit'],
    ['/api/v1/project?project=nobody%2Fnothing', 'project'],
  ])('%s → 404 problem with an `error` for old clients', async (path, what) => {
    const response = await app.request(path);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const body = (await response.json()) as { error: string; detail: string };
    expect(body.error).toContain(what);
    expect(body.detail).toBe(body.error);
  });
});

test('an unexpected failure → 500 problem with a request id and no stack trace', async () => {
  const database = await connectNodeDatabase({ kind: 'pglite' });
  const app = testApp(database.db);
  await database.close(); // the engine is gone: every query now fails
  const response = await app.request('/api/v1/projects', { headers: { 'x-request-id': 'req-42' } });
  expect(response.status).toBe(500);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status: 500, request_id: 'req-42' });
  expect(JSON.stringify(body)).not.toMatch(/at .+\.ts:\d+/);
});
