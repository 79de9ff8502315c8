/**
 * Benchmark of regression verdicts on local Postgres (not a test): prints figures.
 *
 *   npm run bench:compare -- [--pairs 10000] [--repeat 30] [--base-url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * Seeds, with SQL, a project with 5 metric definitions and two commits — a reference on master and
 * a new commit — whose default batches ran the same `--pairs` inputs (continuous noise, a shifted
 * metric, a quantized one full of ties, an unchanged one, a larger-is-better one), then times:
 * 1. in process (node-postgres): the pairing statement alone, and the whole comparison;
 * 2. over HTTP, the Node entry (`npm start`, bundled) in its own process: `/compare` (the default page: 1,000 of the
 *    changed pairs listed), `/compare?pairs=all&limit=10000` (every pair), and `/verdict`. Target: `/compare` p50 < 300 ms at 10,000 pairs × 5 metrics.
 * Wall-clock percentiles depend on what else the machine runs, so each line also gives the CPU
 * time one request costs the Node process and the Postgres backends (Linux: read from /proc):
 * requests run one at a time, so on an idle machine a request takes about that long.
 * Everything runs in a scratch database, dropped at the end.
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { connectNodeDatabase } from '../src/db/connect-node';
import { compareCommit } from '../src/domain/compare/compare-commit';
import { pairedOutputs } from '../src/domain/compare/paired-outputs';
import { createScratchDatabase } from '../test/support/databases';
import { ms, percentiles } from './latency';
import { killOwned } from '../src/maintenance/owned-children';
import buildNodeEntries from '../test/support/build-node';
import { startServer, type RunningServer } from '../test/support/node-entry';

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '30' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const PAIRS = Number(args.pairs);
const REPEAT = Number(args.repeat);
const PROJECT = 'bench/compare';
const METRICS = ['noise', 'shifted', 'quantized', 'unchanged', 'psnr'];

const projectData = {
  qatools_config: { project: { name: PROJECT, reference_branch: 'master' } },
  qatools_metrics: {
    available_metrics: { noise: {}, shifted: {}, quantized: {}, unchanged: {}, psnr: { smaller_is_better: false, suffix: 'dB' } },
  },
};

/** Reference and new values drawn together, so that each new value is a change of its reference. */
const SEED: [string, unknown[]][] = [
  ['INSERT INTO projects (id, data) VALUES ($1, $2::jsonb)', [PROJECT, JSON.stringify(projectData)]],
  [`INSERT INTO test_inputs (project_id, database, path) SELECT $1, '/mnt/datasets/bench', 'scenes/' || i || '.dng' FROM generate_series(1, $2::int) i`, [PROJECT, PAIRS]],
  [
    `INSERT INTO ci_commits (project_id, hexsha, authored_datetime, branch, committer_name, message)
     VALUES ($1, md5('reference'), now() - interval '1 hour', 'master', 'Bench', 'reference'), ($1, md5('new'), now(), 'feature/x', 'Bench', 'new')`,
    [PROJECT],
  ],
  [`INSERT INTO batches (ci_commit_id, label) SELECT id, 'default' FROM ci_commits WHERE project_id = $1`, [PROJECT]],
  [
    `CREATE TEMP TABLE drawn AS
     SELECT t.id AS test_input_id, round((random() * 1000)::numeric, 3)::float8 AS ref, random() AS u1, random() AS u2, random() AS u3, random() AS u4
     FROM test_inputs t WHERE t.project_id = $1`,
    [PROJECT],
  ],
  [
    `INSERT INTO outputs (batch_id, test_input_id, platform, configurations, extra_parameters, metrics, output_dir_override)
     SELECT b.id, d.test_input_id, 'linux', '["base", {"denoise": {"strength": 0.5}}]'::jsonb, '{"iterations": 3}'::jsonb,
       CASE WHEN c.message = 'reference'
         THEN jsonb_build_object('noise', d.ref, 'shifted', d.ref / 1000, 'quantized', round(d.ref), 'unchanged', d.ref, 'psnr', 30 + d.ref / 100)
         ELSE jsonb_build_object('noise', d.ref * (1 + (d.u1 - 0.5) * 0.04), 'shifted', d.ref / 1000 + 0.002 + (d.u2 - 0.5) * 0.01,
           'quantized', round(d.ref) + round((d.u3 - 0.5) * 3), 'unchanged', d.ref, 'psnr', 30 + d.ref / 100 + (d.u4 - 0.6) * 0.1) END,
       '/mnt/qaboard/bench/' || b.id || '/' || d.test_input_id
     FROM batches b JOIN ci_commits c ON c.id = b.ci_commit_id, drawn d
     WHERE c.project_id = $1`,
    [PROJECT],
  ],
  ['ANALYZE', []],
];

async function seed(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const [statement, parameters] of SEED) await client.query(statement, parameters);
    const { rows } = await client.query(
      `SELECT c.message, c.hexsha, b.id AS batch_id FROM ci_commits c JOIN batches b ON b.ci_commit_id = c.id WHERE c.project_id = $1`,
      [PROJECT],
    );
    const of = (message: string) => rows.find((r) => r.message === message)!;
    return { newSha: of('new').hexsha as string, newBatch: of('new').batch_id as number, refBatch: of('reference').batch_id as number };
  } finally {
    await client.end();
  }
}

const CLOCK_TICKS_PER_SECOND = Number(execSync('getconf CLK_TCK').toString()) || 100;

/** CPU time (user + system) each process has used so far, in ms; processes gone are left out. */
function cpuMs(pids: number[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      used.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND); // utime, stime
    } catch {
      // exited
    }
  }
  return used;
}

/** CPU used between two readings by the processes in both. */
const cpuSpent = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, ms]) => sum + (before.has(pid) ? ms - before.get(pid)! : 0), 0);

interface Timing {
  samples: number[];
  /** CPU ms per request: the Node process (in process: this one), the database's backends. */
  nodeCpu: number;
  postgresCpu: number;
}

async function timed(run: () => Promise<unknown>, nodePid: number, backendPids: () => Promise<number[]>): Promise<Timing> {
  for (let i = 0; i < 3; i++) await run(); // warm-up
  const backends = await backendPids();
  const [node0, postgres0] = [cpuMs([nodePid]), cpuMs(backends)];
  const samples: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return { samples, nodeCpu: cpuSpent(node0, cpuMs([nodePid])) / REPEAT, postgresCpu: cpuSpent(postgres0, cpuMs(backends)) / REPEAT };
}

function report(label: string, { samples, nodeCpu, postgresCpu }: Timing, extra = '') {
  const p = percentiles(samples);
  console.log(
    `${label.padEnd(38)} p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}` +
      `  | CPU/request: Node ${ms(nodeCpu)} + Postgres ${ms(postgresCpu)} = ${ms(nodeCpu + postgresCpu)}${extra}`,
  );
  return { ...p, cpu: nodeCpu + postgresCpu };
}

async function main() {
  const scratch = await createScratchDatabase(args['base-url']!);
  const database = await connectNodeDatabase({ kind: 'postgres', url: scratch.url });
  let api: RunningServer | undefined;
  const admin = new pg.Client({ connectionString: scratch.url });
  await admin.connect();
  try {
    const { newSha, newBatch, refBatch } = await seed(scratch.url);
    console.log(
      `Regression verdict bench: ${PAIRS} paired inputs × ${METRICS.length} metrics, ${REPEAT} runs each, Node ${process.version}, ` +
        `local Postgres; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores\n`,
    );
    const backendPids = async () =>
      (await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map((r) => Number(r.pid));

    report('pairing statement (in process)', await timed(() => pairedOutputs(database.db, newBatch, refBatch, METRICS), process.pid, backendPids));
    const query = { projectId: PROJECT, commit: newSha, batch: 'default', page: { pairs: 'changed' as const, offset: 0, limit: 1000 }, canSeeProject: () => true };
    report('whole comparison (in process)', await timed(() => compareCommit(database.db, query), process.pid, backendPids));
    const sample = await compareCommit(database.db, query);
    const statuses = Object.entries(sample.metrics).map(([name, m]) => `${name}: ${m.status}`).join(', ');
    console.log(`  verdict ${sample.verdict} (${statuses})\n`);

    buildNodeEntries();
    api = await startServer(await mkdtemp(path.join(tmpdir(), 'qaboard-bench-')), { DATABASE_URL: scratch.url });
    const base = `${api.url}/api/v1/commit/${newSha}`;
    const project = `project=${encodeURIComponent(PROJECT)}`;
    for (const [label, path, target] of [
      ['GET /compare (1,000 changed pairs listed)', `${base}/compare?${project}`, 300],
      ['GET /compare?pairs=all&limit=10000', `${base}/compare?${project}&pairs=all&limit=10000`, undefined],
      ['GET /verdict', `${base}/verdict?${project}`, 300],
    ] as const) {
      let bytes = 0;
      const timing = await timed(
        async () => {
          const response = await fetch(path);
          bytes = (await response.arrayBuffer()).byteLength;
          if (!response.ok) throw new Error(`${path}: ${response.status}`);
        },
        api.child.pid!,
        backendPids,
      );
      const p = percentiles(timing.samples);
      const verdict = target === undefined ? '' : `; target < ${target} ms: p50 ${p.p50 < target ? 'OK' : 'MISSED'}, CPU ${timing.nodeCpu + timing.postgresCpu < target ? 'OK' : 'MISSED'}`;
      report(label, timing, `  (${(bytes / 1024).toFixed(0)} KB${verdict})`);
    }
  } finally {
    await admin.end();
    if (api) await killOwned(api.child);
    await database.close();
    await scratch.drop();
  }
}

await main();
