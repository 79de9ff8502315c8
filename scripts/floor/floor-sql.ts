/**
 * The floors' one statement: the least that stores an upload — one table, one upsert, the row
 * answered. The same statement for one upload (a Worker request) or a group of them (group commit).
 * A group holds each output once: the benches upload every output once (the app, which gets a run's
 * start and end uploads, splits them into successive statements: domain/ingest/ingest-outputs.ts).
 */
export const FLOOR_TABLE = `CREATE TABLE IF NOT EXISTS floor_outputs (
  id serial PRIMARY KEY, project text NOT NULL, sha text NOT NULL, batch text NOT NULL, input text NOT NULL, metrics jsonb NOT NULL, updated_at timestamptz NOT NULL,
  UNIQUE (project, sha, batch, input))`;

/** Answers each run's row with its index `i` in the parameter (RETURNING's order is not documented). */
export const FLOOR_UPSERT = `WITH r AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(i int, project text, sha text, batch text, input text, metrics jsonb)
  ),
  written AS (
    INSERT INTO floor_outputs AS o (project, sha, batch, input, metrics, updated_at)
    SELECT r.project, r.sha, r.batch, r.input, r.metrics, now() FROM r ORDER BY r.i
    ON CONFLICT (project, sha, batch, input) DO UPDATE SET metrics = EXCLUDED.metrics, updated_at = EXCLUDED.updated_at
    RETURNING *
  )
  SELECT r.i, w.* FROM r JOIN written w ON (w.project, w.sha, w.batch, w.input) = (r.project, r.sha, r.batch, r.input)`;

export const FLOOR_COMMIT_READ = 'SELECT * FROM floor_outputs WHERE project = $1 AND sha = $2 ORDER BY id';

/** The upsert's parameter: the fields of `qa` CLI uploads it keeps. */
export const floorRows = (uploads: Record<string, unknown>[]) =>
  JSON.stringify(uploads.map((u, i) => ({ i, project: u.project, sha: u.commit_sha, batch: u.batch_label, input: u.rel_input_path, metrics: u.metrics ?? {} })));

/** A commit read's answer, in the shape the benches check (`batches.*.valid_outputs`). */
export const floorCommit = (rows: unknown[]) => ({ batches: { default: { valid_outputs: rows.length, outputs: rows } } });
