/**
 * Load and soak test (not part of CI): drives the Node entry (`npm start`) and/or the Worker
 * (`npm run dev`: wrangler dev, workerd, the Neon driver through the local proxy) at a fixed request
 * rate on a scratch database of the local Postgres, and prints, every `--every` seconds, the
 * throughput, latency percentiles, errors and the server's memory — then whether memory stayed flat.
 *
 *   npm run load -- [--target node|worker|both|baseline] [--rate 200] [--duration 60] [--every 10] [--run-seconds 10]
 *   npm run load -- --target node --duration 600      # the 10-minute soak
 *
 * `--target baseline` drives a Worker that only answers (scripts/load-baseline/) under the engine `npm run dev`
 * uses: the memory wrangler dev's runtime takes by itself at that rate, to set against the Worker's.
 *
 * The stream is what a CI farm and a few web-app users make: each run posts its start and, `--run-seconds`
 * later, its end (POST /api/v1/output), and one request in ten reads a commit or the commit list
 * (requestNumber). With `--run-seconds 0` each run's end follows its start at once: the two uploads of one
 * output arrive together, and a server that writes concurrent uploads together writes them in two
 * statements (an output is written once per statement).
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killOwned, spawnOwned } from '../src/maintenance/owned-children';
import { createScratchDatabase } from '../test/support/databases';
import { freePort, startServer } from '../test/support/node-entry';
import { outputUpload, shaOf } from '../test/support/uploads';
import { startDev } from '../test/support/worker-dev';
import { ms, percentiles } from './latency';
import { treeMemory } from './process-memory';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'both' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '60' },
    every: { type: 'string', default: '10' },
    'run-seconds': { type: 'string', default: '10' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const RATE = Number(args.rate);
const DURATION_S = Number(args.duration);
const EVERY_S = Number(args.every);
/** Runs started between a run's start and its end: 9 requests in 10 are uploads, half of them starts. */
const RUNS_IN_FLIGHT = Math.round(Number(args['run-seconds']) * RATE * 0.45);
/** Requests in flight at most: past it the server can't keep up, and the client says so instead of queueing forever. */
const MAX_IN_FLIGHT = 512;

interface Target {
  name: string;
  url: string;
  /** Where its output goes: what to read when a run has errors. */
  log: string;
  /** The process group whose memory, with the groups it started (wrangler's), is the server's. */
  pgid: number;
  stop(): Promise<void>;
}

/** The server's output from now on, in `server.log` of its data folder. */
function keptLog(child: ChildProcess, dataDir: string): string {
  const file = path.join(dataDir, 'server.log');
  const log = createWriteStream(file);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return file;
}

async function nodeTarget(databaseUrl: string): Promise<Target> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'qaboard-load-'));
  const server = await startServer(dataDir, { DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '10000000' });
  return { name: 'Node entry', url: server.url, log: keptLog(server.child, dataDir), pgid: server.child.pid!, stop: () => killOwned(server.child) };
}

async function workerTarget(databaseUrl: string): Promise<Target> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'qaboard-load-dev-'));
  const dev = await startDev({ DATABASE_URL: databaseUrl, AUTH_MODE: 'open', QABOARD_DATA_DIR: dataDir });
  return { name: 'Worker (wrangler dev)', url: dev.url, log: keptLog(dev.child, dataDir), pgid: dev.child.pid!, stop: dev.stop };
}

/** scripts/load-baseline/: a Worker that only answers, under wrangler dev's engine (its own process group, as `npm run dev`). */
async function baselineTarget(): Promise<Target> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'qaboard-load-baseline-'));
  const port = await freePort();
  const child = spawnOwned(process.execPath, ['--import', 'tsx', 'scripts/load-baseline/serve.ts', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const target = { name: "Baseline Worker (answers only, wrangler dev's engine)", url: `http://127.0.0.1:${port}`, log: keptLog(child, dataDir), pgid: child.pid!, stop: () => killOwned(child) };
  for (const deadline = Date.now() + 90_000; !(await fetch(target.url).catch(() => undefined))?.ok; await new Promise((resolve) => setTimeout(resolve, 200))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the baseline Worker does not answer: see ${target.log}`);
  }
  return target;
}

/**
 * Connections are kept between requests, and closed after 4 s idle: before the server closes them (Node's
 * keepAliveTimeout is 5 s), or a request sent on one as the server closes it would fail with ECONNRESET.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT, timeout: 4_000 });
interface Answer {
  /** The answer's status, or the client's error code when there was no answer (ECONNRESET…). */
  status: number | string;
  /** The start of an answer that is not a 2xx: what the server said went wrong. */
  said?: string;
}

function send(url: string, method: string, body?: string): Promise<Answer> {
  return new Promise((resolve) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const request = http.request(url, { method, agent, headers }, (response) => {
      const status = response.statusCode!;
      if (status < 300) {
        response.resume();
        response.on('end', () => resolve({ status }));
        return;
      }
      let said = '';
      response.on('data', (chunk: Buffer) => (said = (said + chunk.toString()).slice(0, 300)));
      response.on('end', () => resolve({ status, said }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? error.message }));
    request.end(body);
  });
}

/**
 * Runs per commit (one per input): a new commit every ~11 s at 200 requests/s — after 10 minutes, 55
 * commits in the commit list's 4-day window, a busy project's week. (At 100 the soak made a commit a
 * second, and reading a 600-commit list ten times a second became most of the load.)
 */
const RUNS_PER_COMMIT = 1_000;
const commitOf = (run: number) => shaOf(Math.floor(run / RUNS_PER_COMMIT) + 1);

interface StreamRequest {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  /** The run an upload belongs to. */
  run?: number;
}

/**
 * The i-th request of the stream: every tenth a read, the others uploads, in turn the start of a new run
 * and the end of the run started RUNS_IN_FLIGHT runs before (while there is none yet, a version check
 * instead). Runs have RUNS_PER_COMMIT inputs per commit. Reads come on top of uploads (every run ends),
 * and read the newest commit an upload of which was written (`writtenRun`: the latest run with a 200).
 */
function requestNumber(target: Target, i: number, writtenRun: number | undefined): StreamRequest {
  const version: StreamRequest = { url: `${target.url}/api/v1/version`, method: 'GET' };
  if (i % 10 === 9) {
    if (writtenRun === undefined) return version;
    const url = i % 20 === 19 ? `${target.url}/api/v1/commits?project=load%2Frepo` : `${target.url}/api/v1/commit/${commitOf(writtenRun)}?project=load%2Frepo`;
    return { url: `${url}&metrics=%7B%22psnr%22%3A0%7D`, method: 'GET' };
  }
  const upload = i - Math.floor((i + 1) / 10); // uploads sent before this request
  const starts = upload % 2 === 0;
  const run = starts ? upload / 2 : (upload - 1) / 2 - RUNS_IN_FLIGHT;
  if (run < 0) return version;
  const output = outputUpload({
    project: 'load/repo',
    sha: commitOf(run),
    input: `inputs/${run % RUNS_PER_COMMIT}.jpg`,
    status: starts ? 'running' : 'done',
    metrics: { psnr: run % 40 },
  });
  return { url: `${target.url}/api/v1/output/`, method: 'POST', body: JSON.stringify(output), run };
}

async function drive(target: Target) {
  console.log(`\n${target.name}: ${RATE} requests/s for ${DURATION_S} s (${target.url})`);
  console.log('   t      sent     ok  errors   req/s     p50     p95     p99   RSS MB  behind');
  const started = performance.now();
  const rssSeries: number[] = [];
  let inFlight = 0;
  let writtenRun: number | undefined;
  let behind = 0;
  let interval = { latencies: [] as number[], ok: 0, errors: 0, sent: 0 };
  /** Errors by request (method and path) and status, with what the first of each said. */
  const errors = new Map<string, { count: number; said?: string }>();
  let totals = { ok: 0, errors: 0, sent: 0, behind: 0 };
  const report = (t: number) => {
    const rssMb = treeMemory(target.pgid).reduce((sum, p) => sum + p.rssKb, 0) / 1024;
    rssSeries.push(rssMb);
    const p = percentiles(interval.latencies.length ? interval.latencies : [0]);
    console.log(
      `${t.toFixed(0).padStart(4)} ${String(interval.sent).padStart(9)} ${String(interval.ok).padStart(6)} ${String(interval.errors).padStart(7)} ` +
        `${(interval.ok / EVERY_S).toFixed(0).padStart(7)} ${ms(p.p50).padStart(7)} ${ms(p.p95).padStart(7)} ${ms(p.p99).padStart(7)} ${rssMb.toFixed(0).padStart(8)} ${String(behind).padStart(7)}`,
    );
    totals = { ok: totals.ok + interval.ok, errors: totals.errors + interval.errors, sent: totals.sent + interval.sent, behind: totals.behind + behind };
    interval = { latencies: [], ok: 0, errors: 0, sent: 0 };
    behind = 0;
  };
  let nextReport = EVERY_S;
  const pending = new Set<Promise<void>>();
  for (let i = 0; ; i++) {
    const due = started + (i / RATE) * 1000;
    const elapsed = (performance.now() - started) / 1000;
    if (elapsed >= nextReport) {
      report(nextReport);
      nextReport += EVERY_S;
    }
    if (elapsed >= DURATION_S) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (inFlight >= MAX_IN_FLIGHT) {
      behind++;
      continue;
    }
    const { url, method, body, run } = requestNumber(target, i, writtenRun);
    inFlight++;
    interval.sent++;
    const t0 = performance.now();
    const done = send(url, method, body).then(({ status, said }) => {
      inFlight--;
      if (status === 200 && run !== undefined) writtenRun = Math.max(writtenRun ?? 0, run);
      if (typeof status === 'number' && status >= 200 && status < 300) {
        interval.ok++;
        interval.latencies.push(performance.now() - t0);
      } else {
        interval.errors++;
        const key = `${method} ${new URL(url).pathname.replace(/[0-9a-f]{40}/, ':id')} ${status}`;
        const seen = errors.get(key);
        if (seen) seen.count++;
        else errors.set(key, { count: 1, said });
      }
    });
    pending.add(done);
    void done.finally(() => pending.delete(done));
  }
  await Promise.all(pending);
  const first = rssSeries[0] ?? 0;
  const last = rssSeries.at(-1) ?? 0;
  const peak = Math.max(...rssSeries);
  console.log(
    `${target.name}: ${totals.ok} ok, ${totals.errors} errors, ${totals.behind} not sent (the server fell behind); ` +
      `RSS ${first.toFixed(0)} → ${last.toFixed(0)} MB (peak ${peak.toFixed(0)} MB, ${(((last - first) / Math.max(first, 1)) * 100).toFixed(1)}% over the run)`,
  );
  for (const [key, { count, said }] of errors) console.log(`  ${count} × ${key}${said ? `: ${said.replace(/\s+/g, ' ')}` : ''}`);
  console.log(`  the server's log: ${target.log}`);
}

const targets = args.target === 'both' ? ['node', 'worker'] : [args.target!];
const targetsByName: Record<string, (databaseUrl: string) => Promise<Target>> = { node: nodeTarget, worker: workerTarget, baseline: baselineTarget };
for (const name of targets) {
  if (!targetsByName[name]) throw new Error(`--target ${name}: expected node, worker, both or baseline`);
  const database = await createScratchDatabase(args['base-url']!);
  const target = await targetsByName[name](database.url);
  try {
    await drive(target);
  } finally {
    await target.stop();
    await database.drop();
  }
}
agent.destroy();
