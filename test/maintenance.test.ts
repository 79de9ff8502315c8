import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client';
import { reapStaleRuns } from '../src/maintenance/reap-stale-runs';
import { applyRetention, expiredCommits, retentionDays } from '../src/maintenance/retention';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';

const NOW = new Date('2026-06-01T00:00:00Z');

it('parses qaboard.yaml retention windows', () => {
  expect([retentionDays('2weeks'), retentionDays('1month'), retentionDays('1 year'), retentionDays('day')]).toEqual([14, 30, 365, 1]);
  expect(retentionDays(undefined)).toBeUndefined();
  expect(retentionDays('soon')).toBeUndefined();
});

describe.each(engineNames)('maintenance jobs on %s', (engine) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase(engine);
    const config = { project: { reference_branch: 'main', milestones: ['release'] }, storage: { garbage: { after: '1month' } } };
    await t.db.execute(sql`INSERT INTO projects (id, data) VALUES
      ('p/kept', ${JSON.stringify({ qatools_config: {} })}::jsonb),
      ('p/cleaned', ${JSON.stringify({ qatools_config: config, milestones: { m: { commit: 'milestone' } } })}::jsonb)`);
    // [project, hexsha, branch, authored days ago, output created days ago]
    const commits: Array<[string, string, string, number, number]> = [
      ['p/cleaned', 'old', 'feature', 90, 90],
      ['p/cleaned', 'recent', 'feature', 5, 5],
      ['p/cleaned', 'on-reference', 'main', 90, 90],
      ['p/cleaned', 'on-protected-ref', 'release', 90, 90],
      ['p/cleaned', 'milestone', 'feature', 90, 90],
      ['p/cleaned', 'rerun-lately', 'feature', 90, 3],
      ['p/kept', 'ancient', 'feature', 900, 900],
    ];
    for (const [project, hexsha, branch, authored, created] of commits) {
      await t.db.execute(sql`WITH c AS (INSERT INTO ci_commits (project_id, hexsha, branch, authored_datetime)
          VALUES (${project}, ${hexsha}, ${branch}, ${NOW.toISOString()}::timestamptz - ${authored} * interval '1 day') RETURNING id),
        b AS (INSERT INTO batches (ci_commit_id) SELECT id FROM c RETURNING id),
        i AS (INSERT INTO test_inputs (database, path) VALUES ('/db', ${hexsha}) RETURNING id)
        INSERT INTO outputs (batch_id, test_input_id, platform, created_date)
        SELECT b.id, i.id, 'linux', ${NOW.toISOString()}::timestamptz - ${created} * interval '1 day' FROM b, i`);
    }
  });
  afterAll(() => t?.close());

  it('previews only unprotected commits older than the window, then marks their outputs deleted', async () => {
    const preview = await expiredCommits(t.db, NOW);
    expect(preview.map((c) => c.hexsha)).toEqual(['old']);
    const [before] = await queryRows<{ n: number }>(t.db, sql`SELECT count(*)::int AS n FROM outputs WHERE deleted`);
    expect(before!.n).toBe(0); // the preview is a dry run

    expect(await applyRetention(t.db, NOW, async () => {})).toEqual({ commits: 1, outputs: 1 });
    const deleted = await queryRows<{ hexsha: string }>(
      t.db,
      sql`SELECT c.hexsha FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id WHERE o.deleted`,
    );
    expect(deleted.map((d) => d.hexsha)).toEqual(['old']);
    expect(await expiredCommits(t.db, NOW)).toEqual([]);
  });

  it('marks failed the runs with no update for longer than the limit', async () => {
    await t.db.execute(sql`UPDATE outputs SET is_running = true, updated_at = now() - interval '30 hours' WHERE platform = 'linux' AND id = (SELECT min(id) FROM outputs)`);
    await t.db.execute(sql`UPDATE outputs SET is_pending = true, updated_at = now() - interval '1 hour' WHERE id = (SELECT max(id) FROM outputs)`);
    expect(await reapStaleRuns(t.db, new Date(), 24)).toBe(1);
    const failed = await queryRows<{ reason: string; running: boolean }>(t.db, sql`SELECT data->>'failure_reason' AS reason, is_running AS running FROM outputs WHERE is_failed`);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.running).toBe(false);
    expect(failed[0]!.reason).toMatch(/no update for more than 24 hours/);
  });
});
