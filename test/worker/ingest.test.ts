/** Bulk ingestion inside workerd: route → Cloudflare queue (qaboard-ingest) → consumer → Postgres through the Neon driver. */
import { env, exports } from 'cloudflare:workers';
import { expect, test } from 'vitest';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';
import { SET_ASIDE_PREFIX } from '../../src/ingestion/spool';
import type { WorkerEnv } from '../../src/worker';
import { ADMIN_JSON } from './worker-credentials';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`http://qaboard.test${path}`, init));
const firstUpload = JSON.parse(sample.split('\n')[0]!).json as Record<string, unknown>;

async function writtenState(ingestionId: string): Promise<Record<string, unknown>> {
  let state: Record<string, unknown> = {};
  for (let i = 0; i < 80 && state.status !== 'written'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    state = (await (await call(`/api/v1/ingestions/${ingestionId}`)).json()) as Record<string, unknown>;
  }
  return state;
}

const validOutputs = async (sha: string, project: string) => {
  const commit = (await (await call(`/api/v1/commit/${sha}?project=${encodeURIComponent(project)}`)).json()) as { batches: Record<string, { valid_outputs: number }> };
  return Object.values(commit.batches).reduce((n, b) => n + b.valid_outputs, 0);
};

test('a bulk upload is queued (202), written by the queue consumer, and its receipt says so', async () => {
  const sha = 'feedface0123456789abcdef0123456789abcdef';
  const uploads = Array.from({ length: 50 }, (_, i) => ({
    ...firstUpload,
    project: 'worker/bulk',
    commit_sha: sha,
    git_commit_sha: sha,
    input_path: `in/${i}.jpg`,
    rel_input_path: `in/${i}.jpg`,
    is_running: false,
    is_pending: false,
    metrics: { psnr: i },
  }));
  const posted = await call('/api/v2/outputs', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(uploads) });
  expect(posted.status).toBe(202);
  const { ingestion_id, accepted } = (await posted.json()) as { ingestion_id: string; accepted: number };
  expect(accepted).toBe(50);

  expect(await writtenState(ingestion_id)).toMatchObject({ status: 'written', total: 50, written: 50, failed: [] });
  expect(await validOutputs(sha, 'worker/bulk')).toBe(50);
});

test('an upload larger than a queue message waits in R2, is written from there, and its object is deleted', async () => {
  const sha = 'feedface0123456789abcdef0123456789abcde0';
  const upload = (i: number, data?: Record<string, unknown>) => ({
    ...firstUpload, project: 'worker/large', commit_sha: sha, git_commit_sha: sha, input_path: `in/${i}.jpg`, rel_input_path: `in/${i}.jpg`,
    is_running: false, is_pending: false, metrics: { psnr: i }, ...(data && { data }),
  });
  // 200 KB: more than a Cloudflare Queue message holds (128 KB), well under the bulk body limit.
  const uploads = [upload(0), upload(1), upload(2, { log: 'x'.repeat(200_000) })];
  const posted = await call('/api/v2/outputs', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(uploads) });
  expect(posted.status).toBe(202);
  const { ingestion_id } = (await posted.json()) as { ingestion_id: string };
  expect(await writtenState(ingestion_id)).toMatchObject({ status: 'written', total: 3, written: 3, failed: [] });
  expect(await validOutputs(sha, 'worker/large')).toBe(3);
  // The receipt says written once the chunk is committed; the object is deleted just after.
  const setAside = async () => (await (env as unknown as WorkerEnv).BACKUPS.list({ prefix: SET_ASIDE_PREFIX })).objects.map((o) => o.key);
  let left = await setAside();
  for (let i = 0; i < 40 && left.length; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = await setAside();
  }
  expect(left).toEqual([]);
});
