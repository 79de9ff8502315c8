/**
 * Reads at scale: with a million outputs stored, the statements the reads really send (captured
 * through Drizzle's logger) use indexes — none scans the outputs table. Needs a Postgres server
 * (TEST_DATABASE_URL): its planner, with statistics, is the one production uses.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectNodeDatabase } from '../src/db/connect-node';
import * as schema from '../src/db/schema';
import { readOutput } from '../src/domain/read/outputs';
import { commitsInWindow, latestSuccessfulCommit, readCommit } from '../src/domain/read/commits';
import { createScratchDatabase } from './support/databases';

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

  function expectNoScanOfOutputs(plans: { query: string; nodes: PlanNode[] }[]) {
    expect(plans.length).toBeGreaterThan(0);
    for (const { query, nodes } of plans) {
      const scans = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'outputs');
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
});
