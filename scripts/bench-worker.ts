/**
 * The Worker against the Node entry, in one run on the local Postgres (issue 15) — not a test: it
 * prints figures next to their targets.
 *
 *   npm run bench:worker -- [--uploads 2000] [--concurrency 8] [--reads 200]
 *                           [--modes node,neon-websocket,neon-http,hyperdrive,worker-floor,worker-floor-app]
 *                           [--base-url postgres://postgres@127.0.0.1:5432/postgres] [--profile]
 *
 * Each mode gets its own scratch database (migrated, dropped at the end) and its own server: the Node
 * entry (`npm start`'s bundle on node-postgres), or the Worker's production bundle (`wrangler deploy
 * --dry-run`) in workerd through miniflare, with wrangler.jsonc's bindings — on Neon's driver through
 * scripts/neon-ws-proxy.ts (NEON_TRANSPORT=websocket: a session per request, the old behaviour; http:
 * SQL over HTTP), or through a HYPERDRIVE binding whose local connection string is the database.
 * Not `wrangler dev`: its front end (a second workerd, and its own Node process, which handles every
 * request's logs) cost more CPU per upload than the app itself on this 2-core machine, and its bundle
 * wraps the app in development middleware that production doesn't run. Per mode:
 * - uploads: POST /api/v1/output at concurrency C (commits of 200 inputs): outputs/s, latency p50/p95/p99;
 * - reads:   GET /api/v1/commit/:id of 200 outputs, one request at a time: latency p50/p95/p99;
 * - sessions/request: `pg_stat_database.sessions` of the scratch database, before and after;
 * - CPU/request: utime+stime (/proc/<pid>/stat) of the server's process — for the Worker, of the workerd
 *   process that runs it; one clock tick is 10 ms, so only the mean over many requests is meaningful.
 *   Neon's side (here scripts/neon-sql-over-http.ts, in this process) is left out, as Neon runs it.
 * Modes `worker-floor` and `worker-floor-app` are not the app but scripts/floor/worker.ts, a Worker on SQL
 * over HTTP without the app's framework, on the same proxy and load: one one-table statement per request
 * (what any Worker on this transport does), or the app's own write and commit read.
 * With --profile, the Worker modes also run under the inspector's CPU profiler (which costs CPU itself:
 * the CPU figures of such a run are not comparable) and print the top self-time functions per request.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Miniflare, type WorkerOptions } from 'miniflare';
import pg from 'pg';
import ts from 'typescript';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { connectNodeDatabase } from '../src/db/connect-node';
import { killOwned } from '../src/maintenance/owned-children';
import { createScratchDatabase } from '../test/support/databases';
import { guardMiniflareHyperdriveProxy } from '../test/support/hyperdrive-proxy-guard';
import { cpuSeconds, freePort, postgresCpuSeconds, startServer, workerdChild } from '../test/support/node-entry';
import { outputUpload, shaOf } from '../test/support/uploads';
import { closeConnections, request } from './keep-alive-client';
import { percentiles } from './latency';
import { startNeonWsProxy, type NeonWsProxy } from './neon-ws-proxy';
import { connectInspector, type Inspector } from './worker-profile';
import { writeWorkerAssets } from './worker-assets';
import { bundleWorker } from './floor/bundle-worker';
import { FLOOR_TABLE } from './floor/floor-sql';

type Mode = 'node' | 'neon-websocket' | 'neon-http' | 'hyperdrive' | 'worker-floor' | 'worker-floor-app';

const { values: args } = parseArgs({
  options: {
    uploads: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    reads: { type: 'string', default: '200' },
    modes: { type: 'string', default: 'node,neon-websocket,neon-http,hyperdrive,worker-floor,worker-floor-app' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    profile: { type: 'boolean', default: false },
  },
});
const UPLOADS = Number(args.uploads);
const CONCURRENCY = Number(args.concurrency);
const READS = Number(args.reads);
const MODES = args.modes!.split(',') as Mode[];
const BASE_URL = args['base-url']!;
const INPUTS_PER_COMMIT = 200;
const root = path.resolve(import.meta.dirname, '..');
const work = path.join(root, '.cache', 'bench-worker');

/** user + system CPU of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const seconds = cpuSeconds(pid);
  if (seconds === undefined) throw new Error(`no CPU figures for process ${pid} (/proc)`);
  return seconds * 1000;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const sessionsOf = (database: string) =>
  withClient(BASE_URL, async (client) => {
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // ended sessions' statistics reach the counters
    const { rows } = await client.query<{ sessions: string }>('SELECT sessions FROM pg_stat_database WHERE datname = $1', [database]);
    return Number(rows[0]?.sessions ?? 0);
  });

interface Server {
  url: string;
  /** The process whose CPU is the app's. */
  appPid(): number;
  /** The Worker's inspector port (Worker modes with --profile). */
  inspectorPort?: number;
  stop(): Promise<void>;
}

async function startNode(databaseUrl: string): Promise<Server> {
  const dataRoot = await mkdtemp(path.join(tmpdir(), 'qaboard-bench-'));
  const server = await startServer(dataRoot, { DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '1000000' });
  return {
    url: server.url,
    appPid: () => server.child.pid!,
    stop: async () => {
      await killOwned(server.child);
      await rm(dataRoot, { recursive: true, force: true });
    },
  };
}

/** wrangler.jsonc as the bench runs it: no build step (assets written once), and a HYPERDRIVE binding when asked. */
function benchWranglerConfig(mode: Mode, databaseUrl: string): string {
  const file = path.join(root, 'wrangler.jsonc');
  const config = ts.parseConfigFileTextToJson(file, readFileSync(file, 'utf8')).config as Record<string, any>;
  delete config.build;
  config.main = path.join(root, config.main);
  config.assets = { directory: path.join(root, config.assets.directory) };
  if (mode === 'hyperdrive') {
    const local = new URL(databaseUrl);
    local.password ||= 'unused'; // wrangler wants one; trust authentication ignores it
    config.hyperdrive = [{ binding: 'HYPERDRIVE', id: 'bench', localConnectionString: local.toString() }];
  }
  const out = path.join(work, `wrangler.${mode}.json`);
  writeFileSync(out, JSON.stringify(config));
  return out;
}

/** The Worker as Cloudflare would run it: the dry run's bundle, built once — the modes' configs differ only in bindings. */
function buildWorkerBundle(config: string): string {
  const outdir = path.join(work, 'bundle');
  execFileSync(path.join(root, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--outdir', outdir, '-c', config], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_LOG: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return path.join(outdir, 'worker.js');
}

let bundle: string | undefined;
let floorBundle: string | undefined;

const isFloor = (mode: Mode) => mode === 'worker-floor' || mode === 'worker-floor-app';

const buildFloorBundle = () => bundleWorker(path.join(root, 'scripts', 'floor', 'worker.ts'), path.join(work, 'floor', 'worker.js'));

async function startWorker(mode: Mode, databaseUrl: string, proxy: NeonWsProxy): Promise<Server> {
  const config = benchWranglerConfig(mode, databaseUrl);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const floor = isFloor(mode);
  const script = floor ? (floorBundle ??= await buildFloorBundle()) : (bundle ??= buildWorkerBundle(config));
  const inspectorPort = args.profile ? await freePort() : undefined;
  const vars = {
    DATABASE_URL: databaseUrl,
    NEON_WS_PROXY: proxy.url,
    NEON_TRANSPORT: mode === 'neon-websocket' ? 'websocket' : 'http',
    AUTH_MODE: 'open',
    FLOOR_WRITE: mode === 'worker-floor-app' ? 'app' : 'table',
  };
  // Requests go to the Worker itself, on a socket of its own: not through miniflare's entry worker, nor the
  // assets router in front of a Worker with assets — JavaScript that runs in the same workerd on every request,
  // where Cloudflare routes outside the Worker and bills it nothing (they cost the app ~0.6–1.0 ms of CPU per upload).
  const { assets: _, ...appOptions } = workerOptions as WorkerOptions;
  const worker = new Miniflare({
    // The floor keeps the compatibility date and flags, none of the app's bindings.
    ...(floor ? { compatibilityDate: workerOptions.compatibilityDate, compatibilityFlags: workerOptions.compatibilityFlags } : appOptions),
    unsafeDirectSockets: [{ host: '127.0.0.1', port: await freePort() }],
    name: 'qaboard-edge',
    modules: true,
    scriptPath: script,
    modulesRoot: path.dirname(script),
    bindings: { ...(floor ? {} : workerOptions.bindings), ...vars },
    host: '127.0.0.1',
    port: await freePort(),
    inspectorPort,
    // The app logs a line per request: read and dropped, as production's log pipeline would take them.
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.resume();
      stderr.pipe(process.stderr);
    },
  });
  await worker.ready;
  const url = (await worker.unsafeGetDirectURL()).origin;
  const pid = workerdChild();
  return { url, appPid: () => pid, stop: () => worker.dispose(), inspectorPort };
}

interface Figures {
  mode: Mode;
  uploadsPerSecond: number;
  upload: ReturnType<typeof percentiles>;
  read: ReturnType<typeof percentiles>;
  sessionsPerRequest: number;
  cpuPerUpload: number;
  /** Postgres's CPU per upload (every `postgres` process of the machine): planning and running what the app sends. */
  postgresCpuPerUpload: number;
  /** This process's CPU per upload: the load's client and, for the Worker modes, the local Neon proxy (Neon's side in production). */
  benchCpuPerUpload: number;
  cpuPerRead: number;
  profiles?: { uploads: Array<{ name: string; ms: number }>; reads: Array<{ name: string; ms: number }> };
}

const uploadOf = (i: number) =>
  outputUpload({ project: 'bench/worker', sha: shaOf(Math.floor(i / INPUTS_PER_COMMIT) + 1), input: `inputs/${i % INPUTS_PER_COMMIT}.jpg`, status: 'done', metrics: { psnr: 30 + (i % 7), loss: i % 3, run: i } });

async function benchMode(mode: Mode, proxy: NeonWsProxy): Promise<Figures> {
  const database = await createScratchDatabase(BASE_URL);
  try {
    return await benchModeOn(database.url, mode, proxy);
  } finally {
    await database.drop();
  }
}

async function benchModeOn(databaseUrl: string, mode: Mode, proxy: NeonWsProxy): Promise<Figures> {
  await (await connectNodeDatabase({ kind: 'postgres', url: databaseUrl })).close(); // migrates
  if (mode === 'worker-floor') await withClient(databaseUrl, (client) => client.query(FLOOR_TABLE));
  const name = new URL(databaseUrl).pathname.slice(1);
  const server = mode === 'node' ? await startNode(databaseUrl) : await startWorker(mode, databaseUrl, proxy);
  try {
    const post = async (body: string) => {
      const answer = await request(`${server.url}/api/v1/output/`, 'POST', body);
      if (answer.status !== 200) throw new Error(`${mode}: upload answered ${answer.status} ${answer.body.slice(0, 300)}`);
    };
    for (let i = 0; i < 100; i++) await post(JSON.stringify(outputUpload({ project: 'bench/warm-up', input: `warm/${i}.jpg`, status: 'done' }))); // JIT, pools
    const bodies = Array.from({ length: UPLOADS }, (_, i) => JSON.stringify(uploadOf(i)));
    const pid = server.appPid();
    const inspector: Inspector | undefined = args.profile && server.inspectorPort ? await connectInspector(server.inspectorPort) : undefined;
    await inspector?.start();
    const sessionsBefore = await sessionsOf(name);
    const cpuBeforeUploads = cpuMs(pid);
    const postgresBeforeUploads = postgresCpuSeconds();
    const benchBeforeUploads = process.cpuUsage();
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < UPLOADS) {
          const body = bodies[next++]!;
          const t0 = performance.now();
          await post(body);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuUploads = cpuMs(pid) - cpuBeforeUploads;
    const postgresUploads = (postgresCpuSeconds() - postgresBeforeUploads) * 1000;
    const benchUsage = process.cpuUsage(benchBeforeUploads);
    const uploadProfile = await inspector?.stop();

    const commitUrl = `${server.url}/api/v1/commit/${shaOf(1)}?project=bench%2Fworker`;
    const first = await request(commitUrl);
    const outputs = Object.values((JSON.parse(first.body) as { batches: Record<string, { valid_outputs: number }> }).batches).reduce((n, b) => n + b.valid_outputs, 0);
    if (first.status !== 200 || outputs !== INPUTS_PER_COMMIT) throw new Error(`${mode}: GET /commit answered ${first.status} with ${outputs} outputs`);
    for (let i = 0; i < 20; i++) await request(commitUrl);
    await inspector?.start();
    const cpuBeforeReads = cpuMs(pid);
    const readLatencies: number[] = [];
    for (let i = 0; i < READS; i++) {
      const t0 = performance.now();
      const answer = await request(commitUrl);
      readLatencies.push(performance.now() - t0);
      if (answer.status !== 200) throw new Error(`${mode}: GET /commit answered ${answer.status}`);
    }
    const cpuReads = cpuMs(pid) - cpuBeforeReads;
    const readProfile = await inspector?.stop();
    inspector?.close();
    // The counter read itself is one session: not the app's.
    const sessions = (await sessionsOf(name)) - sessionsBefore - 1;
    return {
      mode,
      uploadsPerSecond: UPLOADS / seconds,
      upload: percentiles(latencies),
      read: percentiles(readLatencies),
      sessionsPerRequest: sessions / (UPLOADS + READS + 21),
      cpuPerUpload: cpuUploads / UPLOADS,
      postgresCpuPerUpload: postgresUploads / UPLOADS,
      benchCpuPerUpload: (benchUsage.user + benchUsage.system) / 1000 / UPLOADS,
      cpuPerRead: cpuReads / READS,
      profiles: uploadProfile && readProfile && { uploads: uploadProfile, reads: readProfile },
    };
  } finally {
    await server.stop();
  }
}

mkdirSync(work, { recursive: true });
writeWorkerAssets();
guardMiniflareHyperdriveProxy(); // miniflare runs in this process: its Hyperdrive proxy's resets must not end the bench
if (MODES.includes('node')) execFileSync('npm', ['run', '-s', 'build:node'], { cwd: root, stdio: 'inherit' });
const proxy = await startNeonWsProxy();
const results: Figures[] = [];
try {
  for (const mode of MODES) {
    console.error(`bench:worker ${mode} …`);
    results.push(await benchMode(mode, proxy));
  }
} finally {
  await proxy.close();
  closeConnections();
}

const f1 = (n: number) => n.toFixed(1);
const node = results.find((r) => r.mode === 'node');
console.log(`\n${UPLOADS} uploads at concurrency ${CONCURRENCY} (${Math.ceil(UPLOADS / INPUTS_PER_COMMIT)} commits of up to ${INPUTS_PER_COMMIT} inputs), then GET /api/v1/commit/:id of ${INPUTS_PER_COMMIT} outputs ×${READS}, one at a time\n`);
console.log('| mode | uploads/s | POST p50 / p95 / p99 ms | GET /commit p50 / p95 / p99 ms | sessions/request | app CPU ms/upload | app CPU ms/GET /commit | Postgres CPU ms/upload | client + proxy CPU ms/upload |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.mode} | ${r.uploadsPerSecond.toFixed(0)}${node && r !== node ? ` (${((100 * r.uploadsPerSecond) / node.uploadsPerSecond).toFixed(0)}% of node)` : ''} | ` +
      `${f1(r.upload.p50)} / ${f1(r.upload.p95)} / ${f1(r.upload.p99)} | ${f1(r.read.p50)} / ${f1(r.read.p95)} / ${f1(r.read.p99)} | ` +
      `${r.sessionsPerRequest.toFixed(3)} | ${r.cpuPerUpload.toFixed(2)} | ${r.cpuPerRead.toFixed(2)} | ${r.postgresCpuPerUpload.toFixed(2)} | ${r.benchCpuPerUpload.toFixed(2)} |`,
  );
}
if (node) {
  console.log('\nTargets (Worker modes): ingestion ≥ 80% of node; GET /commit p50 within 2 ms of node; sessions/request ≤ 0.01 (http, hyperdrive); CPU ≤ 2 ms/upload, ≤ 3 ms/GET /commit');
  for (const r of results.filter((x) => x.mode !== 'node' && !isFloor(x.mode))) {
    const checks = [
      ['ingestion', r.uploadsPerSecond >= 0.8 * node.uploadsPerSecond],
      ['GET /commit', r.read.p50 <= node.read.p50 + 2],
      // Locally miniflare's Hyperdrive forwards each connection to the database; the deployed one pools them.
      ['sessions', r.mode === 'hyperdrive' ? 'not measurable locally' : r.mode === 'neon-websocket' ? 'not a target (one per request by design)' : r.sessionsPerRequest <= 0.01],
      ['CPU/upload', r.cpuPerUpload <= 2],
      ['CPU/GET', r.cpuPerRead <= 3],
    ] as const;
    console.log(`  ${r.mode}: ${checks.map(([what, ok]) => `${what} ${typeof ok === 'string' ? ok : ok ? 'OK' : 'MISSED'}`).join(', ')}`);
  }
}

for (const r of results.filter((x) => x.profiles)) {
  for (const [phase, list, count] of [['upload', r.profiles!.uploads, UPLOADS], ['GET /commit', r.profiles!.reads, READS]] as const) {
    const total = list.reduce((n, e) => n + e.ms, 0);
    console.log(`\n${r.mode}: profiled CPU per ${phase} ${(total / count).toFixed(2)} ms (idle and GC included); top self time per request:`);
    for (const entry of list.slice(0, 15)) console.log(`  ${(entry.ms / count).toFixed(3)} ms  ${entry.name}`);
  }
}
