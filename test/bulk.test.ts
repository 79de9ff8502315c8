/** Bulk ingestion: validated up front, queued, written with multi-row statements, and tracked by its receipt. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { postJson, testApp, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, rowCounts, type TestDatabase } from './support/databases';
import { outputUpload, shaOf } from './support/uploads';

const ADMIN_TOKEN = 'bootstrap-admin-token-for-tests';
const OLD_RECEIPT = '0192f4a2-7c3e-7b1a-9d2e-0000000000a1';

describe.each(engineNames)('bulk ingestion on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db, { ADMIN_TOKEN });
  });
  beforeEach(() => emptyTables(database.db));
  afterAll(() => database?.close());

  const written = async (receipt: string) => {
    await app.spoolDrain.idle();
    return (await (await app.request(`/api/v1/ingestions/${receipt}`)).json()) as Record<string, unknown>;
  };

  test('v2: the envelope once, 600 runs → 202, then written with their metrics', async () => {
    const { metrics: _, ...envelope } = outputUpload({ project: 'bulk/repo', sha: shaOf(1) });
    const outputs = Array.from({ length: 600 }, (_, i) => ({ input_path: `in/${i}.jpg`, rel_input_path: `in/${i}.jpg`, metrics: { psnr: i } }));
    const response = await postJson(app, '/api/v2/outputs', { ...envelope, outputs });
    expect(response.status).toBe(202);
    const { ingestion_id, accepted } = (await response.json()) as { ingestion_id: string; accepted: number };
    expect(accepted).toBe(600);
    expect(await written(ingestion_id)).toEqual({ id: ingestion_id, status: 'written', total: 600, written: 600, failed: [] });
    expect(await rowCounts(database.db)).toMatchObject({ ci_commits: 1, batches: 1, test_inputs: 600, outputs: 600 });
    const commit = (await (await app.request(`/api/v1/commit/${shaOf(1)}?project=bulk%2Frepo&metrics=%7B%22psnr%22%3A0%7D`)).json()) as any;
    expect(commit.batches.default.aggregated_metrics).toEqual({ psnr_median: 299.5, psnr_average: 299.5 });
  });

  test('v2: the envelope is checked once, yet every problem is named on its run', async () => {
    const { metrics: _, input_path: _i, rel_input_path: _r, ...envelope } = outputUpload({ project: 'bulk/repo', sha: shaOf(1) });
    const outputs = [
      { rel_input_path: 'in/0.jpg' },
      { rel_input_path: 'in/1.jpg', metrics: 3 }, // its own field
      { metrics: { psnr: 1 } }, // a rule across fields: no input path
      { rel_input_path: 'in/3.jpg', commit_sha: 'not-hex' }, // it overrides the envelope
    ];
    const fields = async (body: object) => {
      const response = await postJson(app, '/api/v2/outputs', body);
      expect(response.status).toBe(400);
      return ((await response.json()) as { errors: { field: string }[] }).errors.map((e) => e.field);
    };
    expect(await fields({ ...envelope, outputs })).toEqual(['outputs.1.metrics', 'outputs.2.input_path', 'outputs.3.commit_sha']);
    // An invalid envelope is every run's problem.
    expect(await fields({ ...envelope, project: '', outputs: outputs.slice(0, 1).concat({ rel_input_path: 'in/9.jpg' }) })).toEqual(['outputs.0.project', 'outputs.1.project']);
    expect(await app.spool.depth()).toBe(0);
  });

  test('v1: an array of uploads, across commits; a start and its end in one request keep their order', async () => {
    const uploads = [
      outputUpload({ project: 'bulk/repo', sha: shaOf(2), input: 'a', status: 'running' }),
      outputUpload({ project: 'bulk/repo', sha: shaOf(2), input: 'a', metrics: { psnr: 5 } }),
      outputUpload({ project: 'bulk/repo', sha: shaOf(3), input: 'b', metrics: { psnr: 6 } }),
    ];
    const response = await postJson(app, '/api/v2/outputs', uploads);
    const { ingestion_id } = (await response.json()) as { ingestion_id: string };
    expect(await written(ingestion_id)).toMatchObject({ status: 'written', written: 3 });
    const outputs = (await (await app.request(`/api/v1/commit/${shaOf(2)}?project=bulk%2Frepo`)).json()) as any;
    expect(Object.values(outputs.batches.default.outputs)).toEqual([expect.objectContaining({ is_pending: false, metrics: { psnr: 5, is_failed: false } })]);
  });

  test('an invalid upload refuses the whole request, naming it; nothing is queued', async () => {
    const uploads = Array.from({ length: 5 }, (_, i) => outputUpload({ project: 'bulk/repo', input: `in/${i}` }));
    delete uploads[3]!.input_path;
    delete uploads[3]!.rel_input_path;
    const response = await postJson(app, '/api/v2/outputs', uploads);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['3.input_path']);
    expect(await app.spool.depth()).toBe(0);
    const tooMany = await postJson(app, '/api/v2/outputs', Array.from({ length: 1001 }, () => outputUpload()));
    expect(tooMany.status).toBe(400);
  });

  test('an output uploaded more than twice in one request (its start and its end are fine) → 400 naming the third; nothing is queued', async () => {
    const { metrics: _, ...envelope } = outputUpload({ project: 'bulk/repo' });
    const run = (extraParameters: Record<string, number>, metrics?: Record<string, number>) => ({ input_path: 'in/a', extra_parameters: extraParameters, metrics });
    // The same parameters in another key order are the same output.
    const outputs = [run({ gain: 1, iso: 800 }), run({ iso: 800, gain: 1 }, { psnr: 1 }), run({ gain: 2 }), run({ iso: 800, gain: 1 }, { psnr: 2 })];
    const response = await postJson(app, '/api/v2/outputs', { ...envelope, outputs });
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'outputs.3', message: expect.stringContaining('at most 2') })]);
    expect(await app.spool.depth()).toBe(0);
    const accepted = await postJson(app, '/api/v2/outputs', { ...envelope, outputs: outputs.slice(0, 3) });
    expect(accepted.status).toBe(202);
    const { ingestion_id } = (await accepted.json()) as { ingestion_id: string };
    expect(await written(ingestion_id)).toMatchObject({ status: 'written', written: 3 });
    expect(await rowCounts(database.db)).toMatchObject({ outputs: 2 });
  });

  test('a token restricted to a project can’t slip another project into a bulk upload', async () => {
    const created = await postJson(app, '/api/v1/tokens', { name: 'team', scopes: ['write'], project_prefix: 'team/' }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    const { token } = (await created.json()) as { token: string };
    const { metrics: _, ...envelope } = outputUpload({ project: 'team/repo' });
    const sneaky = { ...envelope, outputs: [{ input_path: 'x' }, { input_path: 'y', project: 'other/repo' }] };
    expect((await postJson(app, '/api/v2/outputs', sneaky, { authorization: `Bearer ${token}` })).status).toBe(404);
    expect((await postJson(app, '/api/v2/outputs', [outputUpload({ project: 'other/repo' })], { authorization: `Bearer ${token}` })).status).toBe(404);
    expect(await app.spool.depth()).toBe(0);
  });

  test("another project's receipt answers exactly as an unknown one of the same age (attack finding M4)", async () => {
    const tokenFor = async (prefix: string) => {
      const created = await postJson(app, '/api/v1/tokens', { name: prefix, scopes: ['write'], project_prefix: prefix }, { authorization: `Bearer ${ADMIN_TOKEN}` });
      return { authorization: `Bearer ${((await created.json()) as { token: string }).token}` };
    };
    const [team, other] = [await tokenFor('team/'), await tokenFor('other/')];
    const response = await postJson(app, '/api/v2/outputs', [outputUpload({ project: 'team/repo' })], team);
    const { ingestion_id: receipt } = (await response.json()) as { ingestion_id: string };
    expect((await written(receipt)).status).toBe('written');
    const answer = async (id: string) => {
      const got = await app.request(`/api/v1/ingestions/${id}`, { headers: other });
      const text = (await got.text()).replaceAll(id, '<id>');
      return { status: got.status, type: got.headers.get('content-type'), body: text.replace(/"request_id":"[^"]*"/, '') };
    };
    const unknownOfSameAge = receipt.slice(0, -12) + (receipt.endsWith('000000000000') ? '111111111111' : '000000000000');
    expect(await answer(receipt)).toEqual(await answer(unknownOfSameAge));
    // Once old, both are the same 404.
    await database.db.execute(sql`UPDATE ingestion_chunks SET ingestion_id = ${OLD_RECEIPT} WHERE ingestion_id = ${receipt}`);
    const old = await answer(OLD_RECEIPT);
    expect(old.status).toBe(404);
    expect(old).toEqual(await answer(OLD_RECEIPT.replace(/.$/, 'f')));
    expect((await app.request(`/api/v1/ingestions/${receipt}`, { headers: team })).status).toBe(200);
  });

  test('an unknown receipt: queued while recent, 404 once older than any queue keeps messages', async () => {
    const recent = '0192f4a2-7c3e-7b1a-9d2e-5f6a7b8c9d0e'.replace(/^[0-9a-f]{8}-[0-9a-f]{4}/, Date.now().toString(16).padStart(12, '0').replace(/^(.{8})/, '$1-'));
    expect(await (await app.request(`/api/v1/ingestions/${recent}`)).json()).toMatchObject({ status: 'queued', total: null });
    expect((await app.request('/api/v1/ingestions/0192f4a2-7c3e-7b1a-9d2e-5f6a7b8c9d0e')).status).toBe(404);
  });
});
