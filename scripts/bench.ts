/**
 * Benchmark of the Node entry on local Postgres (not a test): prints figures.
 *
 *   npm run bench -- [--outputs 10000] [--concurrency 8] [--base-url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * 1. Ingestion: N qa CLI–shaped outputs (commits × batches × inputs) POSTed to /api/v1/output at
 *    concurrency C; throughput and latency percentiles.
 * 2. The ceiling: the same uploads as the same SQL statements sent straight through node-postgres, same concurrency.
 * 3. Reads: a commit with 5,000 outputs, and /commits over 100 commits × 2 batches × 200 outputs
 *    with 3 metrics aggregated (both seeded with SQL).
 * Each part runs in its own scratch database, dropped at the end.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { outputUpload as outputUploadSchema } from '../src/domain/ingest/envelope';
import { ingestOutputs } from '../src/domain/ingest/ingest-outputs';
import { receiptClock } from '../src/ingestion/receipts';
import { connectNodeDatabase } from '../src/db/connect-node';
import { createScratchDatabase } from '../test/support/databases';
import { killOwned } from '../src/maintenance/owned-children';
import { startServer } from '../test/support/node-entry';
import { outputUpload, shaOf } from '../test/support/uploads';
import { ms, percentiles } from './latency';

const { values: args } = parseArgs({
  options: {
    outputs: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '8' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    repeat: { type: 'string', default: '60' },
  },
});
const OUTPUTS = Number(args.outputs);
const CONCURRENCY = Number(args.concurrency);
const REPEAT = Number(args.repeat);
const BATCHES = 2;
const INPUTS = 250;


/** The i-th upload: inputs vary fastest, then batches, then commits. */
function uploadNumber(i: number) {
  const input = i % INPUTS;
  const batch = Math.floor(i / INPUTS) % BATCHES;
  const commit = Math.floor(i / (INPUTS * BATCHES));
  return outputUpload({
    project: 'bench/ingest',
    sha: shaOf(commit + 1),
    batch: batch ? 'tuning' : 'default',
    input: `inputs/${input}.jpg`,
    metrics: { psnr: 30 + (i % 7), loss: i % 3, compute_time: 0.01 },
  });
}

/** Runs `task(i)` for i < count with `concurrency` loops; returns the latency of each call and the wall time. */
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

function report(label: string, run: { latencies: number[]; seconds: number }) {
  const p = percentiles(run.latencies);
  const perSecond = run.latencies.length / run.seconds;
  console.log(`${label.padEnd(34)} ${perSecond.toFixed(0).padStart(6)} outputs/s   p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}`);
  return perSecond;
}

/**
 * The ceiling: the domain function the API runs for each upload, called straight on a pg pool —
 * no HTTP, JSON parsing, validation or response, so the difference is what the API layer costs.
 */
async function benchRawSql(url: string) {
  const database = await connectNodeDatabase({ kind: 'postgres', url, maxConnections: CONCURRENCY });
  const clock = receiptClock();
  const uploads = Array.from({ length: OUTPUTS }, (_, i) => outputUploadSchema.parse(uploadNumber(i)));
  const run = await runConcurrently(OUTPUTS, CONCURRENCY, async (i) => {
    await ingestOutputs(database.db, [{ upload: uploads[i]!, receivedAt: clock() }]);
  });
  await database.close();
  return run;
}

/** Seeds `commits` commits × `batches` batches × `outputs` outputs with 3 metrics, in SQL. */
async function seed(url: string, project: string, commits: number, batchesPerCommit: number, outputsPerBatch: number) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`INSERT INTO projects (id) VALUES ($1)`, [project]);
  await client.query(`INSERT INTO test_inputs (database, path) SELECT '/bench', 'in/' || i FROM generate_series(1, $1) i ON CONFLICT DO NOTHING`, [outputsPerBatch]);
  await client.query(
    `INSERT INTO ci_commits (project_id, hexsha, authored_datetime, branch, committer_name, message)
     SELECT $1, md5($1 || i), now() - i * interval '30 minutes', 'master', 'Bench', 'commit ' || i FROM generate_series(1, $2) i`,
    [project, commits],
  );
  await client.query(
    `INSERT INTO batches (ci_commit_id, label) SELECT c.id, l FROM ci_commits c, unnest(ARRAY['default', 'tuning']::text[]) WITH ORDINALITY AS x(l, n)
     WHERE c.project_id = $1 AND n <= $2`,
    [project, batchesPerCommit],
  );
  await client.query(
    `INSERT INTO outputs (batch_id, test_input_id, platform, metrics, output_dir_override, is_failed)
     SELECT b.id, t.id, 'linux',
       jsonb_build_object('psnr', 30 + random() * 5, 'loss', random(), 'is_failed', false, 'compute_time', random()),
       '/mnt/qaboard/bench/' || b.id || '/' || t.path, random() < 0.02
     FROM batches b JOIN ci_commits c ON c.id = b.ci_commit_id, test_inputs t
     WHERE c.project_id = $1 AND t.database = '/bench' AND t.path IN (SELECT 'in/' || i FROM generate_series(1, $2) i)`,
    [project, outputsPerBatch],
  );
  await client.query('ANALYZE');
  const { rows } = await client.query(`SELECT hexsha FROM ci_commits WHERE project_id = $1 ORDER BY authored_datetime DESC LIMIT 1`, [project]);
  await client.end();
  return rows[0].hexsha as string;
}

async function timeReads(label: string, baseUrl: string, path: string, target: number) {
  for (let i = 0; i < 5; i++) await (await fetch(baseUrl + path)).arrayBuffer(); // warm-up
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    const response = await fetch(baseUrl + path);
    bytes = (await response.arrayBuffer()).byteLength;
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    samples.push(performance.now() - t0);
  }
  const p = percentiles(samples);
  const verdict = p.p50 < target ? 'OK' : 'MISSED';
  console.log(`${label.padEnd(52)} p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}  (${(bytes / 1024).toFixed(0)} KB; target p50 < ${target} ms: ${verdict})`);
}

/** A keep-alive HTTP client much lighter than fetch, so the client doesn't weigh on the figures. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function main() {
  const apiDatabase = await createScratchDatabase(args['base-url']!);
  const rawDatabase = await createScratchDatabase(args['base-url']!);
  await (await connectNodeDatabase({ kind: 'postgres', url: rawDatabase.url })).close(); // migrate
  const api = await startNodeEntry({ DATABASE_URL: apiDatabase.url });
  const apiUrl = api.url;
  try {
    console.log(`QA-Board Edge bench: ${OUTPUTS} outputs (${OUTPUTS / (BATCHES * INPUTS)} commits × ${BATCHES} batches × ${INPUTS} inputs), concurrency ${CONCURRENCY}, Node ${process.version}, local Postgres\n`);
    const bodies = Array.from({ length: OUTPUTS }, (_, i) => JSON.stringify(uploadNumber(i)));
    const http = await runConcurrently(OUTPUTS, CONCURRENCY, async (i) => {
      const { status, body } = await post(`${apiUrl}/api/v1/output/`, bodies[i]!);
      if (status !== 200) throw new Error(`upload ${i}: ${status} ${body}`);
    });
    const viaHttp = report('POST /api/v1/output (HTTP, Node)', http);
    const ceiling = report('raw SQL upserts (pg, ceiling)', await benchRawSql(rawDatabase.url));
    console.log(`HTTP ingestion = ${((100 * viaHttp) / ceiling).toFixed(0)}% of the raw-SQL ceiling (target ≥ 50%)\n`);

    const bigCommit = await seed(apiDatabase.url, 'bench/big-commit', 1, 1, 5000);
    const metrics = encodeURIComponent(JSON.stringify({ psnr: 0, loss: 0, is_failed: 0 }));
    await timeReads('GET /commit/:id (5,000 outputs, 3 metrics)', apiUrl, `/api/v1/commit/${bigCommit}?project=bench%2Fbig-commit&batch=default&metrics=${metrics}`, 100);
    await seed(apiDatabase.url, 'bench/history', 100, 2, 200);
    await timeReads('GET /commits (100 commits × 2 batches × 200 outputs)', apiUrl, `/api/v1/commits?project=bench%2Fhistory&metrics=${metrics}`, 50);
  } finally {
    await api.stop();
    await apiDatabase.drop();
    await rawDatabase.drop();
  }
}

await main();
