/** Bad input gets a clear problem+json naming the field, and writes nothing. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
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
    ['a lone UTF-16 surrogate in a stored value', { ...outputUpload(), data: { note: 'x\ud800y' } }, 'data.note'],
    ['a lone UTF-16 surrogate in a text field', { ...outputUpload(), commit_message: 'fix \udc00' }, 'commit_message'],
    ['an authored date in year 0000 (there is none)', { ...outputUpload(), commit_authored_datetime: '0000-06-01T00:00:00Z' }, 'commit_authored_datetime'],
    ['an authored date with a +23:59 offset', { ...outputUpload(), commit_authored_datetime: '2026-01-01T00:00:00+23:59' }, 'commit_authored_datetime'],
    ['an authored date in year 1 that is in 1 BC once in UTC', { ...outputUpload(), commit_authored_datetime: '0001-01-01T00:00:00+15:59' }, 'commit_authored_datetime'],
    ['an authored date in year 9999 that is in year 10000 once in UTC', { ...outputUpload(), commit_authored_datetime: '9999-12-31T23:59:59-15:59' }, 'commit_authored_datetime'],
    ['a legacy configuration string hiding a NUL', { ...outputUpload(), configurations: undefined, configuration: 'base:{"a":"\\u0000"}' }, 'configuration'],
    ['a legacy configuration string hiding a lone surrogate', { ...outputUpload(), configurations: undefined, configuration: 'base:{"a":"\\ud800"}' }, 'configuration'],
    ['a legacy configuration string hiding 1e309', { ...outputUpload(), configurations: undefined, configuration: 'base:{"a":1e309}' }, 'configuration'],
    ['a legacy configuration string nesting 3,000 levels', { ...outputUpload(), configurations: undefined, configuration: `base:${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}` }, 'configuration'],
    ['a legacy configuration string of 1,001 configurations', { ...outputUpload(), configurations: undefined, configuration: 'c:'.repeat(1000) + 'c' }, 'configuration'],
    ['a database name past its index limit', { ...outputUpload(), database: 'd'.repeat(1025) }, 'database'],
    ['an input path past its index limit (in bytes)', { ...outputUpload(), input_path: '日'.repeat(400), rel_input_path: '日'.repeat(400) }, 'input_path'],
    ['a branch name past its index limit', { ...outputUpload(), commit_branch: 'b'.repeat(1025) }, 'commit_branch'],
    ['a batch label past its index limit', { ...outputUpload(), batch_label: 'é'.repeat(513) }, 'batch_label'],
    ['a project id past its index limit', { ...outputUpload(), project: `group/${'p'.repeat(507)}` }, 'project'],
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

  test('a lone surrogate in a key → 400 naming it', async () => {
    const response = await postJson(app, '/api/v1/output/', { ...outputUpload(), input_metadata: { ['k\udfff']: 1 } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { field: string }[] }).errors[0]!.field).toMatch(/^input_metadata\./);
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test.each(['input_metadata', 'data', 'metrics', 'extra_parameters'])('a `__proto__` key in %s → 400 naming it, nothing written, no prototype touched (attack finding F2)', async (field) => {
    const body = JSON.stringify({ ...outputUpload(), [field]: { PROTO: { polluted: 1 } } }).replace('"PROTO"', '"__proto__"');
    const response = await postJson(app, '/api/v1/output/', body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe(`${field}.__proto__`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test('a number too large for a double (1e309) → 400, not stored as null', async () => {
    const body = JSON.stringify({ ...outputUpload(), extra_parameters: { gain: 123456 } }).replace('123456', '1e309');
    const response = await postJson(app, '/api/v1/output/', body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe('extra_parameters.gain');
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test('a body that is not UTF-8 → 400, not stored with U+FFFD', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...outputUpload(), commit_message: 'caf_' }));
    const invalid = Uint8Array.from(bytes, (byte) => byte); // 'caf_' → 'caf' + 0xE9 (Latin-1 é, invalid alone in UTF-8)
    invalid[bytes.indexOf(0x5f)] = 0xe9;
    const response = await app.request('/api/v1/output/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: invalid });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('UTF-8');
    expect(await rowCounts(database.db)).toEqual(before);
  });

  test.each([
    ['/api/v1/commits?project=group%2Frepo%00', 'query.project'],
    ['/api/v1/commits/ma%00ster?project=group%2Frepo', 'path'],
    ['/api/v1/output/1%00', 'path'],
    ['/api/v1/commits?project=group%2Frepo&committer=%ff', 'query.committer'],
    ['/api/v1/commits?project=group%2Frepo&batch=%ED%A0%80', 'query.batch'],
    [`/api/v1/commits?project=group%2Frepo&metrics=${encodeURIComponent('{"\\ud800": 0}')}`, 'metrics'],
    [`/api/v1/commits?project=group%2Frepo&metrics=${encodeURIComponent(JSON.stringify({ ['m'.repeat(300)]: 0 }))}`, 'metrics'],
    ['/api/v1/commits?project=group%2Frepo&from=0000-01-01T00:00:00Z', 'from'],
    ['/api/v1/output/0x10', 'id'],
    ['/api/v1/output/016', 'id'],
    ['/api/v1/output/2147483648', 'id'],
  ])('%s → 400 naming %s', async (path, field) => {
    const response = await app.request(path);
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field)).toContain(field);
  });

  test('the extreme instants of years 1 and 9999 are stored and read back as ISO 8601', async () => {
    for (const [sha, authored, readBack] of [
      ['abcd0001', '0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000+00:00'],
      ['abcd9999', '9999-12-31T23:59:59.999999+00:00', '9999-12-31T23:59:59.999999+00:00'],
    ] as const) {
      expect((await postJson(app, '/api/v1/output/', { ...outputUpload({ sha }), commit_authored_datetime: authored })).status).toBe(200);
      const commit = (await (await app.request(`/api/v1/commit/${sha}?project=group%2Frepo`)).json()) as { authored_datetime: string };
      expect(commit.authored_datetime).toBe(readBack);
    }
    before = await rowCounts(database.db);
  });

  test('a legacy configuration string within bounds is stored as its configurations', async () => {
    const response = await postJson(app, '/api/v1/output/', { ...outputUpload({ input: 'inputs/legacy.jpg' }), configurations: undefined, configuration: 'base:{"gain": 2}:low-light' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { configurations: unknown[] }).configurations).toEqual(['base', { gain: 2 }, 'low-light']);
    before = await rowCounts(database.db);
  });

  test('the widest windows Postgres can hold are answered', async () => {
    for (const query of ['to=9999-12-31T23:59:59Z', 'from=0001-01-01T00:00:00Z', 'from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z']) {
      expect((await app.request(`/api/v1/commits?project=group%2Frepo&${query}`)).status, query).toBe(200);
    }
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
  test('text with a leading byte-order mark (U+FEFF) is stored as sent on every engine; a BOM before the whole body is read as UTF-8 does (F14)', async () => {
    const BOM = '\ufeff';
    const upload = {
      ...outputUpload({ project: 'bom/repo', batch: `${BOM}label`, input: `${BOM}inputs/a.jpg`, metrics: { [`${BOM}psnr`]: 1 } }),
      extra_parameters: { [`${BOM}gain`]: `${BOM}high` },
    };
    const response = await postJson(app, '/api/v1/output/', upload);
    expect(response.status).toBe(200);
    const output = (await (await app.request(`/api/v1/output/${((await response.json()) as { id: number }).id}`)).json()) as Record<string, any>;
    expect(output).toMatchObject({ extra_parameters: { [`${BOM}gain`]: `${BOM}high` }, metrics: { [`${BOM}psnr`]: 1 } });
    // Compared as bytes in SQL: PGlite's client drops a leading U+FEFF from every text value it returns (it decodes each
    // field with a default TextDecoder), so the text columns themselves can't be compared through it.
    const [stored] = await queryRows<{ path: string; label: string }>(
      database.db,
      sql`SELECT encode(convert_to(t.path, 'UTF8'), 'hex') AS path, encode(convert_to(b.label, 'UTF8'), 'hex') AS label
          FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id JOIN batches b ON b.id = o.batch_id WHERE o.id = ${output.id}`,
    );
    const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');
    expect(stored).toEqual({ path: hex(`${BOM}inputs/a.jpg`), label: hex(`${BOM}label`) });

    const bytes = new TextEncoder().encode(`${BOM}${JSON.stringify({ ...upload, input_path: 'inputs/b.jpg', rel_input_path: 'inputs/b.jpg' })}`);
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const prefixed = await app.request('/api/v1/output/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes });
    expect(prefixed.status).toBe(200);

    const groups = `${BOM}# tuning\nday:\n  inputs: [scenes/day/0001.dng]\n`;
    const path = '/api/v1/tests/groups?project=bom%2Frepo&name=ada';
    expect((await postJson(app, path, { groups })).status).toBe(200);
    const [savedGroups] = await queryRows<{ yaml: string }>(database.db, sql`SELECT encode(convert_to(yaml, 'UTF8'), 'hex') AS yaml FROM test_groups WHERE name = 'ada'`);
    expect(savedGroups!.yaml).toBe(hex(groups));
    const preview = await postJson(app, '/api/v1/tests/group?project=bom%2Frepo&name=day', { groups: ['ada'] });
    expect(((await preview.json()) as { tests: { input_path: string }[] }).tests.map((t) => t.input_path)).toEqual(['scenes/day/0001.dng']);
  });
});

describe.each(engineNames)('values at the limits on %s', (engine) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(engine);
  });
  afterAll(() => database?.close());

  /** Incompressible text of `bytes` UTF-8 bytes (4-byte characters): the worst case for an index entry. */
  const randomText = (bytes: number) =>
    Array.from({ length: bytes / 4 }, () => String.fromCodePoint(0x10000 + Math.floor(Math.random() * 0xfffff))).join('');

  test('identifiers at their byte limits are stored and indexed on a real Postgres', async () => {
    const app = testApp(database.db, { MAX_BODY_BYTES: '65536' });
    const upload = {
      ...outputUpload({ project: `g/${randomText(508)}`, branch: randomText(1024), batch: randomText(1024) }),
      database: randomText(1024),
      input_path: randomText(1024),
      rel_input_path: undefined,
      platform: randomText(256),
    };
    const response = await postJson(app, '/api/v1/output/', upload);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await rowCounts(database.db)).toMatchObject({ projects: 1, ci_commits: 1, batches: 1, test_inputs: 1, outputs: 1 });
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
