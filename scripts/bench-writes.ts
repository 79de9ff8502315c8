/**
 * Benchmark of the web app's bulk writes (not a test): prints figures.
 *
 *   npm run bench:writes -- [--outputs 10000] [--repeat 5] [--base-url postgres://postgres@127.0.0.1:5432/postgres] [--pglite]
 *
 * For each run, a batch of N outputs is seeded in SQL, then removed through the API as the web app
 * asks: `DELETE /api/v1/batch/:id` (hard: outputs and batch), `?soft=true` (marked deleted),
 * `?only_failed=true` (half of them failed), and `DELETE /api/v1/commit/:project/:sha/batches`.
 * Requests go through the app in process (`app.request`: no sockets), on a scratch database of the
 * Postgres server (dropped at the end), or on embedded PGlite with `--pglite`. Target: < 1 s at 10,000.
 */
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../src/db/client';
import { connectNodeDatabase } from '../src/db/connect-node';
import { createScratchDatabase } from '../test/support/databases';
import { testApp } from '../test/support/app';
import { ms, percentiles } from './latency';

const { values: args } = parseArgs({
  options: {
    outputs: { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '5' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    pglite: { type: 'boolean', default: false },
  },
});
const OUTPUTS = Number(args.outputs);
const REPEAT = Number(args.repeat);
const PROJECT = 'bench/writes';

/** A commit with one batch of `outputs` outputs (half failed), seeded in SQL; answers the batch id and the commit. */
async function seedBatch(db: Db, run: number): Promise<{ batchId: number; hexsha: string }> {
  const hexsha = run.toString(16).padStart(40, 'a');
  await db.execute(sql`INSERT INTO projects (id) VALUES (${PROJECT}) ON CONFLICT DO NOTHING`);
  await db.execute(sql`INSERT INTO test_inputs (project_id, database, path)
    SELECT ${PROJECT}, '/bench', 'in/' || i FROM generate_series(1, ${OUTPUTS}) i ON CONFLICT DO NOTHING`);
  const [batch] = await queryRows<{ id: number }>(
    db,
    sql`WITH c AS (INSERT INTO ci_commits (project_id, hexsha, authored_datetime, branch) VALUES (${PROJECT}, ${hexsha}, now() - interval '1 day', 'feature') RETURNING id)
        INSERT INTO batches (ci_commit_id, label) SELECT id, 'default' FROM c RETURNING id`,
  );
  await db.execute(sql`INSERT INTO outputs (batch_id, test_input_id, platform, metrics, is_failed)
    SELECT ${batch!.id}, t.id, 'linux', jsonb_build_object('psnr', 30 + random() * 5), t.id % 2 = 0
    FROM test_inputs t WHERE t.project_id = ${PROJECT}`);
  await db.execute(sql`ANALYZE outputs`);
  return { batchId: batch!.id, hexsha };
}

async function main() {
  const scratch = args.pglite ? undefined : await createScratchDatabase(args['base-url']!);
  const database = await connectNodeDatabase(scratch ? { kind: 'postgres', url: scratch.url } : { kind: 'pglite' });
  const app = testApp(database.db);
  const engine = scratch ? 'Postgres (node-postgres)' : 'PGlite (embedded)';
  console.log(`QA-Board Edge writes bench: batches of ${OUTPUTS} outputs, ${REPEAT} runs each, ${engine}, Node ${process.version}\n`);
  const cases: { label: string; path: (batch: { batchId: number; hexsha: string }) => string; deleted: number }[] = [
    { label: 'DELETE /api/v1/batch/:id (hard)', path: (b) => `/api/v1/batch/${b.batchId}`, deleted: OUTPUTS },
    { label: 'DELETE /api/v1/batch/:id?soft=true', path: (b) => `/api/v1/batch/${b.batchId}?soft=true`, deleted: OUTPUTS },
    { label: 'DELETE /api/v1/batch/:id?only_failed=true', path: (b) => `/api/v1/batch/${b.batchId}?only_failed=true`, deleted: Math.floor(OUTPUTS / 2) },
    { label: 'DELETE /api/v1/commit/:project/:sha/batches', path: (b) => `/api/v1/commit/${PROJECT}/${b.hexsha}/batches`, deleted: OUTPUTS },
  ];
  let run = 0;
  try {
    for (const { label, path, deleted } of cases) {
      const samples: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        const batch = await seedBatch(database.db, ++run);
        const started = performance.now();
        const response = await app.request(path(batch), { method: 'DELETE' });
        samples.push(performance.now() - started);
        const body = (await response.json()) as { deleted_outputs?: number };
        if (response.status !== 200 || body.deleted_outputs !== deleted) throw new Error(`${label}: ${response.status} ${JSON.stringify(body)}`);
      }
      const p = percentiles(samples);
      const verdict = p.p50 < 1000 ? 'OK' : 'MISSED';
      console.log(`${label.padEnd(46)} p50 ${ms(p.p50)}  max ${ms(Math.max(...samples))}  (${deleted} outputs; target < 1 s: ${verdict})`);
    }
  } finally {
    await database.close();
    await scratch?.drop();
  }
}

await main();
