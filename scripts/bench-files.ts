/**
 * `npm run bench:files -- [--requests 30] [--mb 10]`: time to first byte of a 10 MB image served under
 * `/s/` — through the Worker in workerd (`npm run dev`: local R2) and through the Node entry
 * (`npm start`: files in QABOARD_DATA_DIR/artifacts) — and of range requests. Each server gets the
 * image the way CI sends it (`PUT /api/v1/output/:id/files/<path>`), then N sequential GETs each.
 * Target: TTFB < 50 ms locally.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killOwned } from '../src/maintenance/owned-children';
import { startServer } from '../test/support/node-entry';
import { outputUpload } from '../test/support/uploads';
import { startDev } from '../test/support/worker-dev';
import { ms, percentiles } from './latency';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '30' }, mb: { type: 'string', default: '10' } } });
const REQUESTS = Number(values.requests);
const SIZE = Number(values.mb) * 1024 * 1024;

/** Milliseconds to the response's first body byte, and to its end. */
function timedGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; firstByteMs: number; totalMs: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs = NaN;
    let bytes = 0;
    http
      .get(url, { headers, agent: false }, (response) => {
        response.on('data', (chunk: Buffer) => {
          if (Number.isNaN(firstByteMs)) firstByteMs = performance.now() - started;
          bytes += chunk.length;
        });
        response.on('end', () => resolve({ status: response.statusCode!, firstByteMs, totalMs: performance.now() - started, bytes }));
      })
      .on('error', reject);
  });
}

/** An output in r2 mode with the image uploaded as CI would; its URL under /s/. */
async function seed(base: string): Promise<string> {
  const posted = await fetch(`${base}/api/v1/output/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(outputUpload({ project: 'bench/files', extra: { qaboard_config: { storage: { mode: 'r2' } } } })),
  });
  if (!posted.ok) throw new Error(`upload: ${posted.status} ${await posted.text()}`);
  const { id } = (await posted.json()) as { id: number };
  const image = Uint8Array.from({ length: SIZE }, (_, i) => (i * 131) % 251);
  const put = await fetch(`${base}/api/v1/output/${id}/files/images/big.png`, { method: 'PUT', headers: { 'content-length': String(SIZE) }, body: image });
  if (put.status !== 201) throw new Error(`file upload: ${put.status} ${await put.text()}`);
  return `${base}${((await put.json()) as { url: string }).url}`;
}

async function measure(name: string, base: string) {
  const url = await seed(base);
  await timedGet(url); // warm-up
  const full: { firstByteMs: number; totalMs: number }[] = [];
  const ranges: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const got = await timedGet(url);
    if (got.status !== 200 || got.bytes !== SIZE) throw new Error(`${name}: ${got.status}, ${got.bytes} bytes`);
    full.push(got);
    const offset = Math.floor((i / REQUESTS) * (SIZE - 65_536));
    const part = await timedGet(url, { range: `bytes=${offset}-${offset + 65_535}` });
    if (part.status !== 206 || part.bytes !== 65_536) throw new Error(`${name} range: ${part.status}, ${part.bytes} bytes`);
    ranges.push(part.totalMs);
  }
  const ttfb = percentiles(full.map((r) => r.firstByteMs));
  const total = percentiles(full.map((r) => r.totalMs));
  const range = percentiles(ranges);
  console.log(
    `${name.padEnd(8)} ${values.mb} MB image: TTFB p50 ${ms(ttfb.p50)} p95 ${ms(ttfb.p95)} · whole body p50 ${ms(total.p50)} · ` +
      `64 KiB range p50 ${ms(range.p50)} p95 ${ms(range.p95)} (${REQUESTS} requests each)`,
  );
}

const dataRoot = await mkdtemp(path.join(tmpdir(), 'qaboard-bench-files-'));
try {
  // The Worker in workerd with local R2 (npm run dev: embedded Postgres behind the local Neon proxy).
  const dev = await startDev({ QABOARD_DATA_DIR: path.join(dataRoot, 'dev') }, ['--var', 'FILES_STORAGE:r2']);
  try {
    await measure('Worker', dev.url);
  } finally {
    await dev.stop();
  }
  const node = await startServer(path.join(dataRoot, 'node'), { FILES_STORAGE: 'r2', AUTH_MODE: 'open' });
  try {
    await measure('Node', node.url);
  } finally {
    await killOwned(node.child);
  }
} finally {
  await rm(dataRoot, { recursive: true, force: true });
}
