/** Bulk ingestion inside workerd: route → Cloudflare queue (qaboard-ingest) → consumer → Postgres through the Neon driver. */
import { exports } from 'cloudflare:workers';
import { expect, test } from 'vitest';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';
import { ADMIN_JSON } from './worker-credentials';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`http://qaboard.test${path}`, init));
const firstUpload = JSON.parse(sample.split('\n')[0]!).json as Record<string, unknown>;

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

  let state: Record<string, unknown> = {};
  for (let i = 0; i < 80 && state.status !== 'written'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    state = (await (await call(`/api/v1/ingestions/${ingestion_id}`)).json()) as Record<string, unknown>;
  }
  expect(state).toMatchObject({ status: 'written', total: 50, written: 50, failed: [] });
  const commit = (await (await call(`/api/v1/commit/${sha}?project=worker%2Fbulk`)).json()) as { batches: Record<string, { valid_outputs: number }> };
  expect(Object.values(commit.batches).reduce((n, b) => n + b.valid_outputs, 0)).toBe(50);
});
