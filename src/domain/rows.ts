/**
 * Row shapes read with raw SQL, the SQL that selects them, and their JSON shapes in the v1 API.
 * Timestamps are formatted by Postgres as ISO 8601 in UTC with microseconds (as the original's
 * `isoformat()`), whatever the driver or the session time zone.
 */
import { sql } from 'drizzle-orm';
import { batchDir, commitLocations, committerAvatarUrl, defaultOutputDir, dirToUrl } from './storage-locations';

type Json = Record<string, unknown>;

/** SQL text formatting a timestamptz column as ISO 8601 UTC. */
export const isoUtc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')`;

export interface ProjectRow {
  project_id: string;
  project_data: Json;
}

export interface CommitRow extends ProjectRow {
  commit_id: number;
  hexsha: string;
  branch: string | null;
  message: string | null;
  committer_name: string | null;
  authored_datetime: string;
  authored_date: string;
  latest_output_datetime: string | null;
  deleted: boolean;
  commit_data: Json;
  commit_dir_override: string | null;
}

/** Columns of a `CommitRow`, from `ci_commits c` joined with `projects p`. */
export const commitColumns = sql.raw(`
  p.id AS project_id, p.data AS project_data,
  c.id AS commit_id, c.hexsha, c.branch, c.message, c.committer_name,
  ${isoUtc('c.authored_datetime')} AS authored_datetime,
  to_char(c.authored_datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS authored_date,
  ${isoUtc('c.latest_output_datetime')} AS latest_output_datetime,
  c.deleted, c.data AS commit_data, c.commit_dir_override`);

export interface BatchRow {
  id: number;
  label: string;
  created_date: string;
  data: Json;
  batch_dir_override: string | null;
}

export interface OutputRow {
  id: number;
  batch_id: number;
  output_type: string;
  platform: string;
  configurations: unknown[];
  extra_parameters: Json;
  metrics: Json;
  is_failed: boolean;
  is_pending: boolean;
  is_running: boolean;
  data: Json;
  deleted: boolean;
  created_date: string;
  output_dir_override: string | null;
  test_input_database: string;
  test_input_path: string;
  test_input_metadata: Json | null;
}

/** Columns of an `OutputRow`, from `outputs o` (or a CTE of the same columns) and `test_inputs t`. */
export const outputColumns = sql.raw(`
  o.id, o.batch_id, o.output_type, o.platform, o.configurations, o.extra_parameters, o.metrics,
  o.is_failed, o.is_pending, o.is_running, o.data, o.deleted,
  ${isoUtc('o.created_date')} AS created_date,
  o.output_dir_override,
  t.database AS test_input_database, t.path AS test_input_path, t.data -> 'metadata' AS test_input_metadata`);

export function outputJson(row: OutputRow, batchDirectory: () => string) {
  const outputDir =
    row.output_dir_override ??
    defaultOutputDir(batchDirectory(), {
      platform: row.platform,
      configurations: row.configurations,
      extraParameters: row.extra_parameters,
      testInputPath: row.test_input_path,
    });
  return {
    id: row.id,
    output_type: row.output_type,
    platform: row.platform,
    configurations: row.configurations,
    extra_parameters: row.extra_parameters,
    metrics: row.metrics,
    is_failed: row.is_failed,
    is_pending: row.is_pending,
    is_running: row.is_running,
    data: row.data,
    deleted: row.deleted,
    created_date: row.created_date,
    output_dir_url: dirToUrl(outputDir),
    test_input_database: row.test_input_database,
    test_input_path: row.test_input_path,
    test_input_metadata: row.test_input_metadata ?? {},
  };
}
export type OutputJson = ReturnType<typeof outputJson>;

/** An output with what locating its folder needs: its batch, commit and project. */
export interface OutputInContextRow extends OutputRow {
  project_id: string;
  project_data: Json | null;
  hexsha: string;
  commit_data: Json | null;
  commit_dir_override: string | null;
  batch_label: string;
  batch_dir_override: string | null;
}

/**
 * Columns of an `OutputInContextRow` beyond `outputColumns`, from `batches b`, `ci_commits c`, `projects p`.
 * The project's and commit's data (configs: kilobytes) only come when the output's folder must be derived.
 */
export const outputContextColumns = sql.raw(`
  p.id AS project_id, c.hexsha, c.commit_dir_override, b.label AS batch_label, b.batch_dir_override,
  CASE WHEN o.output_dir_override IS NULL THEN p.data END AS project_data,
  CASE WHEN o.output_dir_override IS NULL THEN c.data END AS commit_data`);

export function outputInContextJson(row: OutputInContextRow): OutputJson {
  return outputJson(row, () => {
    const { outputsDir } = commitLocations(
      { id: row.project_id, data: row.project_data ?? {} },
      { hexsha: row.hexsha, data: row.commit_data ?? {}, commitDirOverride: row.commit_dir_override },
    );
    return batchDir(outputsDir, { label: row.batch_label, batchDirOverride: row.batch_dir_override });
  });
}

/** Per-batch output counts and aggregated metrics, computed in SQL (see batch-summaries.ts). */
export interface BatchSummary {
  valid_outputs: number;
  pending_outputs: number;
  running_outputs: number;
  failed_outputs: number;
  deleted_outputs: number;
  aggregated_metrics: Record<string, number>;
}

export function commitJson(
  commit: CommitRow,
  batches: { row: BatchRow; summary: BatchSummary; outputs?: OutputRow[] }[],
) {
  const project = { id: commit.project_id, data: commit.project_data };
  const locations = commitLocations(project, {
    hexsha: commit.hexsha,
    data: commit.commit_data,
    commitDirOverride: commit.commit_dir_override,
  });
  return {
    id: commit.hexsha,
    branch: commit.branch?.replace(/^origin\//, '') ?? null,
    message: commit.message ?? '<NA>',
    committer_name: commit.committer_name ?? 'unknown',
    committer_avatar_url: committerAvatarUrl(commit.committer_name),
    authored_datetime: commit.authored_datetime,
    authored_date: commit.authored_date,
    latest_output_datetime: commit.latest_output_datetime,
    deleted: commit.deleted,
    data: commit.commit_data,
    outputs_url: dirToUrl(locations.outputsDir),
    artifacts_url: dirToUrl(locations.artifactsDir),
    repo_artifacts_url: dirToUrl(locations.repoArtifactsDir),
    batches: Object.fromEntries(
      batches.map(({ row, summary, outputs }) => {
        const directory = batchDir(locations.outputsDir, { label: row.label, batchDirOverride: row.batch_dir_override });
        const batch = {
          id: row.id,
          commit_id: commit.hexsha,
          label: row.label,
          created_date: row.created_date,
          data: row.data,
          batch_dir_url: dirToUrl(directory),
          ...summary,
          ...(outputs && {
            outputs: Object.fromEntries(outputs.map((o) => [String(o.id), outputJson(o, () => directory)])),
          }),
        };
        return [row.label, batch];
      }),
    ),
  };
}
export type CommitJson = ReturnType<typeof commitJson>;
