/**
 * Reads at scale: with a million outputs stored, the statements the reads really send (captured
 * through Drizzle's logger) use indexes — none scans the outputs table. Nor do uploads' statements scan
 * a table of outputs or parents. Needs a Postgres server (TEST_DATABASE_URL): its planner, with
 * statistics, is the one production uses.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectNodeDatabase } from '../src/db/connect-node';
import * as schema from '../src/db/schema';
import { outputUpload as outputUploadSchema } from '../src/domain/ingest/envelope';
import { ingestOutputs, ingestStatements, outputAsWritten } from '../src/domain/ingest/ingest-outputs';
import { readOutput } from '../src/domain/read/outputs';
import { receiptClock } from '../src/ingestion/receipts';
import { commitsInWindow, latestSuccessfulCommit, readCommit } from '../src/domain/read/commits';
import { createScratchDatabase } from './support/databases';
import { outputUpload, shaOf } from './support/uploads';

const OUTPUTS = 1_000_000;
/** A commit an hour, each with one batch of 500 outputs: the default 4-day window shows ~100 commits. */
const COMMITS = 2_000;
const INPUTS = OUTPUTS / COMMITS;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

describe.skipIf(!process.env.TEST_DATABASE_URL)('query plans at a million outputs (needs TEST_DATABASE_URL)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let pool: pg.Pool;
  const captured: { query: string; params: unknown[] }[] = [];
  let db: ReturnType<typeof drizzle<typeof schema>>;

  beforeAll(async () => {
    scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
    await (await connectNodeDatabase({ kind: 'postgres', url: scratch.url })).close(); // migrate
    pool = new pg.Pool({ connectionString: scratch.url, max: 2 });
    await pool.query(`
      INSERT INTO projects (id, data) VALUES ('scale/repo',
        '{"qatools_config": {"project": {"reference_branch": "master"}}, "qatools_metrics": {"available_metrics": {"psnr": {}}}}');
      INSERT INTO ci_commits (project_id, hexsha, authored_datetime, branch)
        SELECT 'scale/repo', md5(i::text) || '00000000', now() - i * interval '1 hour', 'master' FROM generate_series(1, ${COMMITS}) i;
      INSERT INTO batches (ci_commit_id, label) SELECT id, 'default' FROM ci_commits;
      INSERT INTO test_inputs (project_id, database, path) SELECT 'scale/repo', '/db', 'in/' || i FROM generate_series(1, ${INPUTS}) i;
      INSERT INTO outputs (batch_id, test_input_id, platform, metrics)
        SELECT b.id, t.id, 'linux', jsonb_build_object('psnr', random() * 40) FROM batches b CROSS JOIN test_inputs t;`);
    await pool.query('VACUUM ANALYZE'); // as autovacuum keeps it: statistics, and the visibility map index-only scans need
    db = drizzle({ client: pool, schema, logger: { logQuery: (query, params) => void captured.push({ query, params }) } });
  }, 600_000);
  afterAll(async () => {
    await pool?.end();
    await scratch?.drop();
  });

  /** The plans of every statement `read` sends. */
  async function plansOf(read: () => Promise<unknown>): Promise<{ query: string; nodes: PlanNode[] }[]> {
    captured.length = 0;
    await read();
    const plans = [];
    for (const { query, params } of [...captured]) {
      if (!/^\s*(select|with)/i.test(query)) continue;
      const { rows } = await pool.query(`EXPLAIN (FORMAT JSON) ${query}`, params);
      plans.push({ query, nodes: nodesOf((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan) });
    }
    return plans;
  }

  function expectNoScanOfOutputs(plans: { query: string; nodes: PlanNode[] }[], tables = ['outputs']) {
    expect(plans.length).toBeGreaterThan(0);
    for (const { query, nodes } of plans) {
      const scans = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && tables.includes(n['Relation Name']!));
      expect(scans, query).toEqual([]);
    }
  }

  const options = { metrics: ['psnr'], withOutputs: true };

  test(`GET /commit/:id (${INPUTS} outputs among ${OUTPUTS})`, async () => {
    const [{ hexsha }] = (await pool.query(`SELECT hexsha FROM ci_commits ORDER BY authored_datetime DESC LIMIT 1`)).rows;
    expectNoScanOfOutputs(await plansOf(() => readCommit(db, 'scale/repo', hexsha.slice(0, 8), options)));
  });

  test('GET /commit (the latest successful commit of the reference branch)', async () => {
    expectNoScanOfOutputs(await plansOf(() => latestSuccessfulCommit(db, 'scale/repo', undefined, options)));
  });

  test('GET /commits (a window of commits, aggregated metrics from the cache)', async () => {
    const list = () => commitsInWindow(db, { projectId: 'scale/repo' }, { metrics: ['psnr'], withOutputs: false });
    expect((await list()).commits.length).toBeGreaterThan(90); // computes and caches the aggregates
    await pool.query('VACUUM ANALYZE batch_metric_aggregates');
    expectNoScanOfOutputs(await plansOf(list));
  });

  test('GET /output/:id', async () => {
    const [{ id }] = (await pool.query(`SELECT max(id) AS id FROM outputs`)).rows;
    expectNoScanOfOutputs(await plansOf(() => readOutput(db, Number(id), () => true)));
  });

  test('uploads, to parents found or created and to parents known, scan no table of outputs or parents', async () => {
    // test inputs as many as a big deployment's, where scanning them all would show
    await pool.query(`INSERT INTO projects (id) VALUES ('scale/other');
      INSERT INTO test_inputs (project_id, database, path) SELECT 'scale/other', '/db', 'in/' || i FROM generate_series(1, 100000) i;
      ANALYZE test_inputs`);
    const clock = receiptClock();
    // a commit of the big project, authored long ago (the reads above don't see it), on its inputs
    const uploads = (status: 'running' | 'done') =>
      Array.from({ length: 8 }, (_, i) => ({
        upload: outputUploadSchema.parse(outputUpload({ project: 'scale/repo', sha: shaOf(7), authored: '2001-01-01T00:00:00Z', input: `in/${i + 1}`, status })),
        receivedAt: clock(),
      }));
    await ingestOutputs(db, uploads('running'), outputAsWritten('shared-disk'));
    const plans = [];
    for (const parents of ['created', 'known'] as const) {
      const [statement] = ingestStatements(uploads('done'), outputAsWritten('shared-disk'), parents);
      const { sql: query, params } = new PgDialect().sqlToQuery(statement!);
      if (parents === 'known') expect(query).toContain('known_commit');
      const { rows } = await pool.query(`EXPLAIN (FORMAT JSON) ${query}`, params);
      plans.push({ query, nodes: nodesOf((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan) });
    }
    expectNoScanOfOutputs(plans, ['outputs', 'batches', 'test_inputs', 'ci_commits']);
  });
});
