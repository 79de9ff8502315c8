import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/client';

/**
 * Realistic rows for backup tests, made in SQL so any size is quick: unicode and nulls in JSONB,
 * metrics objects of `metricsPerOutput` keys (large by default), a null text column, every table non-empty.
 */
export async function seedBackupData(db: Db, outputCount: number, metricsPerOutput = 60): Promise<void> {
  await db.execute(sql`INSERT INTO projects (id, data) VALUES
    ('group/ünïcødé-repo', '{"git": {"name": "日本語 🚀"}, "milestones": {}}'),
    ('group/other', '{"note": null, "empty": ""}')`);
  await db.execute(sql`INSERT INTO ci_commits (project_id, hexsha, authored_datetime, branch, parents, data, message)
    SELECT 'group/ünïcødé-repo', md5(i::text), now() - i * interval '1 hour', CASE WHEN i % 2 = 0 THEN 'master' END,
           jsonb_build_array(md5((i + 1)::text)), jsonb_build_object('k', i, 'nul', null), NULL
    FROM generate_series(1, 20) i`);
  await db.execute(sql`INSERT INTO batches (ci_commit_id, label, data) SELECT id, 'default', '{"ë": [1, null, "x"]}' FROM ci_commits`);
  await db.execute(sql`INSERT INTO test_inputs (database, path, data) SELECT '/db', 'input/' || i || '/ø.jpg', '{}' FROM generate_series(1, 50) i`);
  await db.execute(sql`INSERT INTO outputs (batch_id, test_input_id, platform, configurations, extra_parameters, metrics, data, is_pending)
    SELECT b.id, (i % 50) + 1, 'linux', jsonb_build_array('base', i), jsonb_build_object('i', i),
           (SELECT jsonb_object_agg('metric_' || m, m * i * 0.1) FROM generate_series(1, ${metricsPerOutput}::int) m),
           jsonb_build_object('log', 'ünïcødé ✓ ' || i, 'nothing', null), i % 7 = 0
    FROM generate_series(1, ${outputCount}) i
    JOIN batches b ON b.id = (SELECT min(id) FROM batches) + (i % 20)`);
  await db.execute(sql`INSERT INTO batch_metric_aggregates (batch_id, metric, outputs_fingerprint, median, average)
    SELECT id, 'metric_1', 'fp', NULL, 1.5 FROM batches`);
  await db.execute(sql`INSERT INTO file_deletions (prefix, pattern, move_to) VALUES ('p/0123abcd/7/', NULL, NULL), ('p/0123abcd/8/12/', '*.pñg', NULL), ('p/0123abcd/8/13/', NULL, 'p/0123abcd/9/13/')`);
}
