/**
 * Benchmark of the Node entry (`npm start`, bundled, in its own process) on the local Postgres — not
 * a test: it prints figures next to their targets (issue 11).
 *
 *   npm run bench -- [--outputs 20000] [--concurrency 8] [--base-url postgres://postgres@127.0.0.1:5432/postgres]
 *                    [--only ingest,bulk,outage,reads-1m,reads-small]
 *
 * 1. ingest       POST /api/v1/output, qa CLI uploads at concurrency C: outputs/s and latency percentiles;
 *                 then the same load on two floors (scripts/floor/node-server.ts): a bare server writing one
 *                 table (the least any server storing each upload does), and one writing with the app's own
 *                 coalescer and statement (the app without its framework).
 * 2. bulk         POST /api/v2/outputs, 1,000 runs per request: accepted → written, outputs/s.
 * 3. outage       a 10 s database outage in the middle of the per-request load (through a TCP proxy):
 *                 non-2xx answers, then every acknowledged upload stored exactly once in its final state.
 * 4. reads-1m     GET /api/v1/commit/:id of 5,000 outputs with 1,000,000 outputs stored (seeded in SQL),
 *                 then the same from a server keeping no outputs between reads (KEPT_OUTPUTS_MB=0).
 * 5. reads-small  the original's scale (10 commits × 5 batches × 40 inputs, 4 metrics) at concurrency 8:
 *                 GET /api/v1/commit/:id and GET /api/v1/commits, p50.
 * Each part runs on its own scratch database, dropped at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { killOwned, spawnOwned } from '../src/maintenance/owned-children';
import { createScratchDatabase } from '../test/support/databases';
import { startFaultProxy } from '../test/support/fault-proxy';
import { cpuSeconds, postgresCpuSeconds, startServer, type RunningServer } from '../test/support/node-entry';
import { outputUpload, shaOf } from '../test/support/uploads';
import { closeConnections, request } from './keep-alive-client';
import { ms, percentiles } from './latency';

const { values: args } = parseArgs({
  options: {
    outputs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '8' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    only: { type: 'string', default: 'ingest,bulk,outage,reads-1m,reads-small' },
  },
});
const OUTPUTS = Number(args.outputs);
const CONCURRENCY = Number(args.concurrency);
const BASE_URL = args['base-url']!;
const PARTS = new Set(args.only!.split(','));


/** Runs `task(i)` for i < count with `concurrency` loops; the latency of each call and the wall time. */
async function runConcurrently(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

const verdict = (ok: boolean) => (ok ? 'OK' : 'MISSED');

/** The Node entry (`env` added to the bench's) on `databaseUrl`, in a data folder of its own; `stop` ends it and removes the folder. */
async function startBenchServer(databaseUrl: string, env: Record<string, string> = {}): Promise<RunningServer & { stop(): Promise<void> }> {
  const dataRoot = await mkdtemp(path.join(tmpdir(), 'qaboard-bench-'));
  const server = await startServer(dataRoot, {
    DATABASE_URL: databaseUrl,
    RATE_LIMIT_PER_MINUTE: '1000000',
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
    CIRCUIT_OPEN_MS: '1000',
    ...env,
  }).catch(async (error: unknown) => {
    await rm(dataRoot, { recursive: true, force: true });
    throw error;
  });
  return {
    ...server,
    async stop() {
      await killOwned(server.child);
      await rm(dataRoot, { recursive: true, force: true });
    },
  };
}

/** The Node entry on a scratch database; `databaseUrl` may route through a proxy. */
async function withServer<T>(work: (server: RunningServer, database: { url: string }) => Promise<T>, via?: (url: string) => string): Promise<T> {
  const database = await createScratchDatabase(BASE_URL);
  const server = await startBenchServer(via ? via(database.url) : database.url);
  try {
    return await work(server, database);
  } finally {
    await server.stop();
    await database.drop();
  }
}

/** The i-th of a CI run's uploads: 250 inputs per batch, 2 batches per commit; start then end uploads are separate calls. */
function upload(i: number, project = 'bench/ingest', status: 'running' | 'done' = 'done') {
  const input = i % 250;
  const batch = Math.floor(i / 250) % 2;
  const commit = Math.floor(i / 500);
  return outputUpload({
    project,
    sha: shaOf(commit + 1),
    batch: batch ? 'tuning' : 'default',
    input: `inputs/${input}.jpg`,
    status,
    metrics: status === 'done' ? { psnr: 30 + (i % 7), loss: i % 3, run: i } : undefined,
  });
}

/**
 * Uploads `bodies` to `url` at the bench's concurrency (after the warm-up uploads): outputs/s, latency
 * percentiles, and the CPU ms per upload of the server (process `pid`) and of Postgres.
 */
async function driveUploads(url: string, pid: number, bodies: string[], warmUp: string[]) {
  for (const body of warmUp) await request(url, 'POST', body); // JIT, pools
  const serverBefore = cpuSeconds(pid)!;
  const postgresBefore = postgresCpuSeconds();
  const run = await runConcurrently(bodies.length, CONCURRENCY, async (i) => {
    const { status, body } = await request(url, 'POST', bodies[i]!);
    if (status !== 200) throw new Error(`upload ${i}: ${status} ${body}`);
  });
  const perUpload = (seconds: number) => ((1000 * seconds) / bodies.length).toFixed(2);
  return {
    rate: bodies.length / run.seconds,
    p: percentiles(run.latencies),
    cpu: `CPU per upload: server ${perUpload(cpuSeconds(pid)! - serverBefore)} ms, Postgres ${perUpload(postgresCpuSeconds() - postgresBefore)} ms`,
  };
}

/**
 * scripts/floor/node-server.ts on a scratch database: a bare server storing each upload (`write`:
 * one table, or the app's own write), with the same client and load — see that file.
 */
async function floorIngest(write: 'table' | 'app', bodies: string[], warmUp: string[]) {
  const database = await createScratchDatabase(BASE_URL);
  try {
    const child = spawnOwned(process.execPath, ['--single-threaded', '--max-semi-space-size=4', '--import', 'tsx', path.join(import.meta.dirname, 'floor', 'node-server.ts')], {
      env: { ...process.env, DATABASE_URL: database.url, FLOOR_WRITE: write },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the floor server did not listen within 30 s')), 30_000);
        child.once('exit', (code) => reject(new Error(`the floor server exited with ${code}`)));
        child.stdout!.on('data', (chunk: Buffer) => {
          const listening = /listening (\d+)/.exec(chunk.toString());
          if (!listening) return;
          clearTimeout(timer);
          resolve(listening[1]!);
        });
      });
      return await driveUploads(`http://127.0.0.1:${port}/api/v1/output/`, child.pid!, bodies, warmUp);
    } finally {
      await killOwned(child);
    }
  } finally {
    await database.drop();
  }
}

async function benchIngest() {
  const bodies = Array.from({ length: OUTPUTS }, (_, i) => JSON.stringify(upload(i)));
  const warmUp = Array.from({ length: 200 }, (_, i) => JSON.stringify(upload(i, 'bench/warm-up')));
  const { rate, p, cpu } = await withServer((server) => driveUploads(`${server.url}/api/v1/output/`, server.child.pid!, bodies, warmUp));
  console.log(
    `ingest   POST /api/v1/output at concurrency ${CONCURRENCY}: ${rate.toFixed(0)} outputs/s, p50 ${ms(p.p50)} p95 ${ms(p.p95)} p99 ${ms(p.p99)}` +
      `  (targets ≥ 2,400/s: ${verdict(rate >= 2400)}; p95 < 20 ms: ${verdict(p.p95 < 20)}); ${cpu}`,
  );
  console.log('         floors, same load on a bare node:http server with group commit (no framework, validation or auth):');
  for (const [write, what] of [['table', 'writing one table'], ['app', "writing with the app's statement"]] as const) {
    const floor = await floorIngest(write, bodies, warmUp);
    console.log(
      `         - ${what}: ${floor.rate.toFixed(0)} outputs/s, p50 ${ms(floor.p.p50)}; ${floor.cpu} (the app reaches ${((100 * rate) / floor.rate).toFixed(0)}% of it)`,
    );
  }
}

async function benchBulk() {
  await withServer(async (server) => {
    const requests = Math.max(1, Math.round(OUTPUTS / 1000));
    const bodies = Array.from({ length: requests }, (_, r) => {
      const { metrics: _metrics, input_path: _input, rel_input_path: _relative, ...envelope } = upload(0, 'bench/bulk');
      const outputs = Array.from({ length: 1000 }, (_, i) => ({ rel_input_path: `inputs/${r}/${i}.jpg`, metrics: { psnr: i % 40 } }));
      return JSON.stringify({ ...envelope, commit_sha: shaOf(r + 1), outputs });
    });
    const started = performance.now();
    const receipts: string[] = [];
    await runConcurrently(requests, 2, async (r) => {
      const { status, body } = await request(`${server.url}/api/v2/outputs`, 'POST', bodies[r]!);
      if (status !== 202) throw new Error(`bulk ${r}: ${status} ${body}`);
      receipts.push((JSON.parse(body) as { ingestion_id: string }).ingestion_id);
    });
    const accepted = (performance.now() - started) / 1000;
    for (const receipt of receipts) {
      for (;;) {
        const { body } = await request(`${server.url}/api/v1/ingestions/${receipt}`);
        if ((JSON.parse(body) as { status: string }).status === 'written') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const written = (performance.now() - started) / 1000;
    const rate = (requests * 1000) / written;
    console.log(
      `bulk     POST /api/v2/outputs, ${requests} × 1,000 runs: accepted in ${accepted.toFixed(2)} s, written in ${written.toFixed(2)} s: ` +
        `${rate.toFixed(0)} outputs/s accepted → written  (target ≥ 10,000/s: ${verdict(rate >= 10_000)})`,
    );
  });
}

async function benchOutage() {
  const server = new URL(BASE_URL);
  const proxy = await startFaultProxy({ host: server.hostname, port: Number(server.port || 5432) });
  try {
    await withServer(async (running, database) => {
      const count = Math.min(OUTPUTS, 10_000);
      const statuses = new Map<number, number>();
      const outage = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        proxy.setMode('down');
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        proxy.setMode('pass');
      })();
      // Each input: a start, then an end; the stored state must be the end's.
      await runConcurrently(count, CONCURRENCY, async (i) => {
        for (const status of ['running', 'done'] as const) {
          const answer = await request(`${running.url}/api/v1/output/`, 'POST', JSON.stringify(upload(i, 'bench/outage', status)));
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        }
        // Slow enough that the load spans the outage.
        await new Promise((resolve) => setTimeout(resolve, 10));
      });
      await outage;
      const check = new pg.Client({ connectionString: database.url });
      await check.connect();
      let stored: { n: number; finished: number; distinct_runs: number };
      for (;;) {
        const { rows } = await check.query(
          `SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT is_pending AND (metrics ->> 'run')::int IS NOT NULL)::int AS finished,
             count(DISTINCT (metrics ->> 'run'))::int AS distinct_runs FROM outputs`,
        );
        stored = rows[0];
        if (stored.finished >= count) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await check.end();
      const failed = [...statuses].filter(([status]) => status >= 300).reduce((n, [, c]) => n + c, 0);
      const lost = count - stored.finished;
      const duplicated = stored.n - count;
      console.log(
        `outage   10 s database outage under load (${count} runs × 2 uploads): answers ${JSON.stringify(Object.fromEntries(statuses))}; ` +
          `non-2xx ${failed}, lost ${lost}, duplicated ${duplicated}  (targets 0/0/0: ${verdict(failed === 0 && lost === 0 && duplicated === 0)})`,
      );
    }, (url) => proxy.urlThrough(url));
  } finally {
    await proxy.close();
  }
}

/**
 * p50 of `repeat` reads at `concurrency`, once as many reads warmed the server up: a server in
 * service has run its read path through V8's optimizing compiler long before (and filled the
 * aggregate cache); the first hundreds of reads of a fresh process ran ~2× slower.
 */
async function timeReads(server: RunningServer, label: string, url: string, concurrency: number, target: number, repeat: number) {
  await runConcurrently(repeat, concurrency, async () => void (await request(url)));
  let bytes = 0;
  const cpuBefore = cpuSeconds(server.child.pid!);
  const run = await runConcurrently(repeat, concurrency, async () => {
    const answer = await request(url);
    if (answer.status !== 200) throw new Error(`${url}: ${answer.status}`);
    bytes = answer.body.length;
  });
  // The server's own CPU per request, which other processes on the machine don't inflate (Linux).
  const cpuAfter = cpuSeconds(server.child.pid!);
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? '' : `, server CPU ${(((cpuAfter - cpuBefore) * 1000) / repeat).toFixed(2)} ms/request`;
  const p = percentiles(run.latencies);
  console.log(`${label.padEnd(70)} p50 ${ms(p.p50)} p95 ${ms(p.p95)} (${(bytes / 1024).toFixed(0)} KB${cpu}; target p50 ≤ ${target} ms: ${verdict(p.p50 <= target)})`);
}

const METRICS = encodeURIComponent(JSON.stringify({ psnr: 0, loss: 0, is_failed: 0, compute_time: 0 }));

async function benchReadsAtAMillion() {
  await withServer(async (server, database) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const definitions = JSON.stringify({ available_metrics: { psnr: {}, loss: {}, is_failed: {}, compute_time: {} } });
    await client.query(`INSERT INTO projects (id, data) VALUES ('bench/scale', jsonb_build_object('qatools_metrics', $1::jsonb))`, [definitions]);
    await client.query(`INSERT INTO ci_commits (project_id, hexsha, authored_datetime, branch) SELECT 'bench/scale', md5(i::text), now() - i * interval '1 hour', 'master' FROM generate_series(1, 200) i`);
    await client.query(`INSERT INTO batches (ci_commit_id, label) SELECT id, 'default' FROM ci_commits`);
    await client.query(`INSERT INTO test_inputs (project_id, database, path) SELECT 'bench/scale', '/bench', 'in/' || i FROM generate_series(1, 5000) i`);
    await client.query(
      `INSERT INTO outputs (batch_id, test_input_id, platform, metrics, output_dir_override)
       SELECT b.id, t.id, 'linux', jsonb_build_object('psnr', 30 + random() * 5, 'loss', random(), 'is_failed', false, 'compute_time', random()),
         '/mnt/qaboard/bench/' || b.id || '/' || t.path
       FROM batches b CROSS JOIN test_inputs t`,
    );
    await client.query('VACUUM ANALYZE');
    const { rows } = await client.query(`SELECT hexsha FROM ci_commits ORDER BY authored_datetime DESC LIMIT 1`);
    await client.end();
    const commitPath = `/api/v1/commit/${rows[0].hexsha}?project=bench%2Fscale&metrics=${METRICS}`;
    await timeReads(server, 'reads-1m GET /api/v1/commit/:id (5,000 outputs, 1,000,000 stored), one at a time', `${server.url}${commitPath}`, 1, 50, 50);
    // The same reads from a server that keeps no outputs between reads: what a commit read first, or just changed, costs.
    const keepingNothing = await startBenchServer(database.url, { KEPT_OUTPUTS_MB: '0' });
    try {
      await timeReads(keepingNothing, '         the same, KEPT_OUTPUTS_MB=0 (every read writes the outputs)', `${keepingNothing.url}${commitPath}`, 1, 50, 50);
    } finally {
      await keepingNothing.stop();
    }
  });
}

async function benchReadsAtTheOriginalScale() {
  await withServer(async (server) => {
    // 10 commits × 5 batches × 40 inputs, uploaded as the qa CLI would (in bulk, to save time).
    for (let c = 0; c < 10; c++) {
      const uploads = [];
      for (let b = 0; b < 5; b++) {
        for (let i = 0; i < 40; i++) {
          uploads.push(
            outputUpload({
              project: 'bench/original',
              sha: shaOf(c + 1),
              batch: b ? `batch-${b}` : 'default',
              input: `inputs/${i}.jpg`,
              authored: new Date(Date.now() - c * 3_600_000).toISOString(),
              metrics: { psnr: 30 + (i % 7), loss: i % 3, compute_time: 0.01 * i },
            }),
          );
        }
      }
      const { status, body } = await request(`${server.url}/api/v2/outputs`, 'POST', JSON.stringify(uploads));
      if (status !== 202) throw new Error(`seed: ${status} ${body}`);
    }
    for (let done = false; !done; ) {
      const { body } = await request(`${server.url}/api/v1/commits?project=bench%2Foriginal`);
      done = (JSON.parse(body) as unknown[]).length === 10;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await timeReads(server, 'reads    GET /api/v1/commit/:id?batch&metrics (40 outputs of 200), concurrency 8', `${server.url}/api/v1/commit/${shaOf(1)}?project=bench%2Foriginal&batch=default&metrics=${METRICS}`, 8, 9, 1000);
    await timeReads(server, 'reads    GET /api/v1/commits?metrics (10 commits × 5 batches), concurrency 8', `${server.url}/api/v1/commits?project=bench%2Foriginal&metrics=${METRICS}`, 8, 25, 1000);
  });
}

console.log(`QA-Board Edge bench: Node ${process.version}, the bundled Node entry on local Postgres, ${OUTPUTS} outputs, concurrency ${CONCURRENCY}\n`);
if (PARTS.has('ingest')) await benchIngest();
if (PARTS.has('bulk')) await benchBulk();
if (PARTS.has('outage')) await benchOutage();
if (PARTS.has('reads-1m')) await benchReadsAtAMillion();
if (PARTS.has('reads-small')) await benchReadsAtTheOriginalScale();
closeConnections();
