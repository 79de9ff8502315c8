/** The deployed artefact — src/worker.ts in workerd — on Postgres through the Neon serverless driver. */
import { exports } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';
import { ADMIN_JSON } from './worker-credentials';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`http://qaboard.test${path}`, init));
const firstUpload = JSON.parse(sample.split('\n')[0]!).json as Record<string, unknown>;

describe('the Worker', () => {
  test('ingests a qa CLI upload and reads it back', async () => {
    const sha = 'abcdef0123456789abcdef0123456789abcdef01';
    const upload = { ...firstUpload, commit_sha: sha, git_commit_sha: sha, project: 'worker/project', is_running: false, is_pending: false, metrics: { psnr: 30 } };
    const posted = await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload) });
    expect(posted.status).toBe(200);
    const output = (await posted.json()) as { id: number; metrics: unknown };
    expect(output.metrics).toEqual({ psnr: 30 });

    const read = await call(`/api/v1/commit/${sha.slice(0, 8)}?project=worker%2Fproject&metrics=%7B%22psnr%22%3A0%7D`);
    expect(read.status).toBe(200);
    const commit = (await read.json()) as { id: string; batches: Record<string, { outputs: Record<string, unknown>; aggregated_metrics: unknown }> };
    expect(commit.id).toBe(sha);
    expect(Object.keys(commit.batches.default!.outputs)).toEqual([String(output.id)]);
    expect(commit.batches.default!.aggregated_metrics).toEqual({ psnr_median: 30, psnr_average: 30 });
  });

  test("runs the web app's output filter in linear time (RE2): a pathological pattern can't stall the isolate", async () => {
    const sha = 'abcdef0123456789abcdef0123456789abcdef02';
    const input = `${'a'.repeat(28)}!`;
    const upload = { ...firstUpload, commit_sha: sha, git_commit_sha: sha, project: 'worker/filter', input_path: input, rel_input_path: input, is_running: false, is_pending: false, metrics: {} };
    expect((await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload) })).status).toBe(200);
    const commit = (await (await call(`/api/v1/commit/${sha}?project=worker%2Ffilter`)).json()) as { batches: Record<string, { id: number }> };
    const move = (filter: string) =>
      call('/api/v1/batch/move', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify({ id: Object.values(commit.batches)[0]!.id, label: 'moved', filter }) });
    const started = Date.now();
    expect(await (await move('^(a+)+$')).json()).toEqual({ status: 'OK', moved_outputs: 0 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await move('(a)\\1')).status).toBe(400);
    expect(await (await move('^(a+)+!')).json()).toEqual({ status: 'OK', moved_outputs: 1 });
  });

  test('keeps a leading U+FEFF in stored text and reads a BOM before the body as UTF-8 does, as on Node (F14)', async () => {
    const sha = 'abcdef0123456789abcdef0123456789abcdef03';
    const BOM = '\ufeff';
    const upload = { ...firstUpload, commit_sha: sha, git_commit_sha: sha, project: 'worker/bom', input_path: `${BOM}a.jpg`, rel_input_path: `${BOM}a.jpg`,
      batch_label: `${BOM}label`, extra_parameters: { [`${BOM}k`]: `${BOM}v` }, is_running: false, is_pending: false, metrics: {} };
    const body = new TextEncoder().encode(`${BOM}${JSON.stringify(upload)}`);
    const posted = await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body });
    expect(posted.status).toBe(200);
    const output = (await (await call(`/api/v1/output/${((await posted.json()) as { id: number }).id}`)).json()) as Record<string, unknown>;
    expect(output).toMatchObject({ test_input_path: `${BOM}a.jpg`, extra_parameters: { [`${BOM}k`]: `${BOM}v` } });
    const commit = (await (await call(`/api/v1/commit/${sha}?project=worker%2Fbom`)).json()) as { batches: Record<string, unknown> };
    expect(Object.keys(commit.batches)).toEqual([`${BOM}label`]);
  });

  test('answers problem+json for bad input and unknown objects', async () => {
    const bad = await call('/api/v1/output', { method: 'POST', headers: ADMIN_JSON, body: '{"project": 1}' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    const missing = await call('/api/v1/output/999999/');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ status: 404, error: expect.any(String) });
  });
});
