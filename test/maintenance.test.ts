import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { queryRows } from '../src/db/client';
import { pruneIngestionReceipts } from '../src/domain/ingest/ingestion-receipts';
import { reapStaleRuns } from '../src/maintenance/reap-stale-runs';
import { applyRetention, expiredCommits, retentionDays } from '../src/maintenance/retention';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';

const NOW = new Date('2026-06-01T00:00:00Z');

it('parses qaboard.yaml retention windows', () => {
  expect([retentionDays('2weeks'), retentionDays('1month'), retentionDays('1 year'), retentionDays('day')]).toEqual([14, 30, 365, 1]);
  expect(retentionDays(undefined)).toBeUndefined();
  expect(retentionDays('soon')).toBeUndefined();
  for (const junk of ['0days', '-3days', '1.5weeks', '99999999999999999999years', '101 years', 30, ['1month'], null]) expect(retentionDays(junk)).toBeUndefined();
  expect(retentionDays('100years')).toBe(36_500);
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

  it("a project's junk retention settings skip that project (logged), never the others, and never delete more than asked", async () => {
    const garbage = (after: unknown, project: Record<string, unknown> = {}) => ({ qatools_config: { project, storage: { garbage: { after } } } });
    const projects: Array<[string, unknown]> = [
      ['p/a-negative', garbage('-3days')],
      ['p/a-zero', garbage('0 days')],
      ['p/a-huge', garbage('99999999999999999999years')],
      ['p/a-number', garbage(30)],
      ['p/a-object-refs', garbage('1month', { milestones: { release: true } })],
      ['p/a-numeric-refs', garbage('1month', { milestones: 2024 })],
      ['p/a-storage-string', { qatools_config: { storage: 'junk' } }],
      ['p/a-config-number', { qatools_config: 42 }],
      ['p/b-one-ref', garbage('1month', { milestones: 'release' })],
      ['p/z-valid', garbage('2 weeks')],
    ];
    for (const [id, data] of projects) {
      await t.db.execute(sql`INSERT INTO projects (id, data) VALUES (${id}, ${JSON.stringify(data)}::jsonb)`);
      for (const branch of ['feature', 'release']) {
        await t.db.execute(sql`WITH c AS (INSERT INTO ci_commits (project_id, hexsha, branch, authored_datetime)
            VALUES (${id}, ${`${id}-${branch}`}, ${branch}, ${NOW.toISOString()}::timestamptz - interval '90 days') RETURNING id),
          b AS (INSERT INTO batches (ci_commit_id) SELECT id FROM c RETURNING id),
          i AS (INSERT INTO test_inputs (database, path) VALUES ('/db', ${`${id}-${branch}`}) RETURNING id)
          INSERT INTO outputs (batch_id, test_input_id, platform, created_date)
          SELECT b.id, i.id, 'linux', ${NOW.toISOString()}::timestamptz - interval '90 days' FROM b, i`);
      }
    }
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(await applyRetention(t.db, NOW, async () => {})).toEqual({ commits: 5, outputs: 5 });
      const skipped = warn.mock.calls.map(([line]) => JSON.parse(String(line)) as { project: string; skipped: string });
      expect(skipped.map((s) => s.project).sort()).toEqual(['p/a-huge', 'p/a-negative', 'p/a-number', 'p/a-object-refs', 'p/a-zero']);
      expect(skipped.find((s) => s.project === 'p/a-huge')!.skipped).toContain('storage.garbage.after must be a duration');
    } finally {
      warn.mockRestore();
    }
    const deleted = await queryRows<{ hexsha: string }>(
      t.db,
      sql`SELECT c.hexsha FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id
          WHERE o.deleted AND c.project_id LIKE 'p/%-%' ORDER BY c.hexsha`,
    );
    // A single protected ref is a ref (not its letters); a year number is a name too.
    expect(deleted.map((d) => d.hexsha)).toEqual(['p/a-numeric-refs-feature', 'p/a-numeric-refs-release', 'p/b-one-ref-feature', 'p/z-valid-feature', 'p/z-valid-release']);
  });

  it('forgets ingestion receipts after a month, keeping younger ones', async () => {
    await t.db.execute(sql`INSERT INTO ingestion_chunks (ingestion_id, chunk, total, items, errors, project_ids, written_at) VALUES
      ('old', 0, 1, 1, '[]'::jsonb, '[]'::jsonb, ${NOW.toISOString()}::timestamptz - interval '31 days'),
      ('young', 0, 1, 1, '[]'::jsonb, '[]'::jsonb, ${NOW.toISOString()}::timestamptz - interval '29 days')`);
    expect(await pruneIngestionReceipts(t.db, NOW)).toBe(1);
    expect((await queryRows<{ id: string }>(t.db, sql`SELECT ingestion_id AS id FROM ingestion_chunks`)).map((r) => r.id)).toEqual(['young']);
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
