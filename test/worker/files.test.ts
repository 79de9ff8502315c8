/**
 * Output files in workerd on the local R2 bucket (miniflare's ARTIFACTS): upload through the Worker,
 * the manifest, `/s/` with ranges and ETags, signed URLs, a batch's file filter, and a batch deletion
 * emptying its prefix through the maintenance queue.
 */
import { env, exports } from 'cloudflare:workers';
import { expect, test } from 'vitest';
import { fileUrlSignature } from '../../src/auth/file-urls';
import type { WorkerEnv } from '../../src/worker';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';
import { ADMIN_JSON, WORKER_TEST_ADMIN_TOKEN, WORKER_TEST_FILE_URL_SECRET } from './worker-credentials';

type Json = Record<string, any>;
const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`http://qaboard.test${path}`, init));
const bucket = (env as unknown as WorkerEnv).ARTIFACTS;
const admin = { authorization: `Bearer ${WORKER_TEST_ADMIN_TOKEN}` };
const bytes = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7) % 256);
const sha256Hex = async (data: Uint8Array) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map((b) => b.toString(16).padStart(2, '0')).join('');

async function r2Output(sha: string, project = 'worker/files'): Promise<Json> {
  const upload = {
    ...(JSON.parse(sample.split('\n')[0]!).json as object),
    commit_sha: sha, git_commit_sha: sha, project, commit_branch: 'feature', is_running: false, is_pending: false, metrics: {},
    qaboard_config: { storage: { mode: 'r2' } },
  };
  const posted = await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload) });
  expect(posted.status).toBe(200);
  const output = (await posted.json()) as Json;
  return (await (await call(`/api/v1/output/${output.id}`)).json()) as Json;
}

const put = (outputId: number, path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
  call(`/api/v1/output/${outputId}/files/${path}`, { method: 'PUT', headers: { ...admin, 'content-length': String(body.length), ...headers }, body });

// One upload for the file: without TEST_DATABASE_URL the workerd tests' database is PGlite served as one
// shared session, where a second upload's named prepared statement fails with 42P05 (already exists).
let output: Json;

test('upload into R2, the manifest, and /s/ with ranges, ETags and signed URLs', async () => {
  output = await r2Output('1111111111111111111111111111111111111abc');
  expect(output.output_dir_url).toMatch(/^\/s\/worker\/files\/1{37}abc\/\d+\/\d+$/);
  const image = bytes(200_000);
  const stored = await put(output.id, 'img/a.png', image, { 'x-content-sha256': await sha256Hex(image) });
  expect(stored.status).toBe(201);
  const key = `${decodeURIComponent(output.output_dir_url.slice(3))}/img/a.png`;
  const object = await bucket.head(key);
  expect(object?.size).toBe(200_000);
  expect(object?.httpMetadata?.contentType).toBe('image/png');

  const wrongHash = await put(output.id, 'img/b.png', image, { 'x-content-sha256': await sha256Hex(bytes(5)) });
  expect(wrongHash.status).toBe(400);
  expect(await bucket.head(key.replace('a.png', 'b.png'))).toBeNull();
  expect((await put(output.id, 'img%2F..%2F..%2Fx.png', image)).status).toBe(400);

  const manifest = (await (await call(`/api/v1/output/${output.id}/manifest`)).json()) as Json;
  expect(manifest).toEqual({ 'img/a.png': { st_size: 200_000, md5: expect.stringMatching(/^[0-9a-f]{32}$/), url: `${output.output_dir_url}/img/a.png` } });

  const served = await call(manifest['img/a.png'].url);
  expect(served.status).toBe(200);
  expect(served.headers.get('content-type')).toBe('image/png');
  expect(new Uint8Array(await served.arrayBuffer())).toEqual(image);
  const etag = served.headers.get('etag')!;
  expect((await call(manifest['img/a.png'].url, { headers: { 'if-none-match': etag } })).status).toBe(304);
  const part = await call(manifest['img/a.png'].url, { headers: { range: 'bytes=1000-1999' } });
  expect(part.status).toBe(206);
  expect(part.headers.get('content-range')).toBe('bytes 1000-1999/200000');
  expect(new Uint8Array(await part.arrayBuffer())).toEqual(image.slice(1000, 2000));
  expect((await call(manifest['img/a.png'].url, { headers: { range: 'bytes=300000-' } })).status).toBe(416);

  const now = Math.floor(Date.now() / 1000);
  const valid = new URLSearchParams(await fileUrlSignature(WORKER_TEST_FILE_URL_SECRET, key, now + 60));
  expect((await call(`${manifest['img/a.png'].url}?${valid}`)).status).toBe(200);
  const expired = new URLSearchParams(await fileUrlSignature(WORKER_TEST_FILE_URL_SECRET, key, now - 1));
  expect((await call(`${manifest['img/a.png'].url}?${expired}`)).status).toBe(403);
  const forged = new URLSearchParams(await fileUrlSignature('another-secret-of-at-least-32-characters!!', key, now + 60));
  expect((await call(`${manifest['img/a.png'].url}?${forged}`)).status).toBe(403);
});

/** Waits for the maintenance queue's consumer (it runs after the request answered). */
async function eventually(done: () => Promise<boolean>) {
  for (let i = 0; i < 80 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 250));
  return done();
}

test("a batch's file filter deletes the matching R2 objects of its outputs and keeps the rest", async () => {
  const prefix = decodeURIComponent(output.output_dir_url.slice(3)) + '/';
  expect((await put(output.id, 'f/drop.jpg', bytes(10))).status).toBe(201);
  expect((await put(output.id, 'f/keep.txt', bytes(10))).status).toBe(201);
  const batchId = prefix.split('/').at(-3);
  const filtered = await call(`/api/v1/batch/${batchId}?soft=true&filter=${encodeURIComponent('f/*.jpg')}`, { method: 'DELETE', headers: admin });
  expect(filtered.status).toBe(200);
  expect(await eventually(async () => (await bucket.head(`${prefix}f/drop.jpg`)) === null)).toBe(true);
  expect(await bucket.head(`${prefix}f/keep.txt`)).not.toBeNull();
  expect(await bucket.head(`${prefix}img/a.png`)).not.toBeNull();
  expect(((await (await call(`/api/v1/output/${output.id}`)).json()) as Json).deleted).toBe(false);
});

test('deleting the batch empties its R2 prefix through the maintenance queue', async () => {
  expect((await put(output.id, 'a.txt', bytes(10))).status).toBe(201);
  expect((await put(output.id, 'deep/b.txt', bytes(10))).status).toBe(201);
  const batchPrefix = decodeURIComponent(output.output_dir_url.slice(3)).replace(/\/\d+$/, '/');
  expect((await bucket.list({ prefix: batchPrefix })).objects).toHaveLength(4); // with img/a.png and f/keep.txt (the cached manifest went with the new uploads)
  const batchId = batchPrefix.split('/').at(-2);
  expect((await call(`/api/v1/batch/${batchId}?soft=false`, { method: 'DELETE', headers: admin })).status).toBe(200);
  expect(await eventually(async () => (await bucket.list({ prefix: batchPrefix })).objects.length === 0)).toBe(true);
});
