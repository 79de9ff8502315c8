/**
 * The part of every ingestion statement that gets-or-creates the project and the commit.
 * It is a list of CTEs (`existing_commit`, `project`, `commit`) that callers extend with their
 * own, so that an upload is ONE statement: a single round trip, atomic, and safe under
 * concurrent first uploads (every step is an INSERT … ON CONFLICT DO UPDATE … RETURNING, which
 * returns the row even when another transaction created it a moment earlier).
 */
import { sql, type SQL } from 'drizzle-orm';
import type { CommitEnvelope } from './envelope';

type Json = Record<string, unknown>;

export interface CommitUpsertOptions {
  /** Output uploads stamp `latest_output_datetime` on the project and the commit. */
  touchLatestOutput: boolean;
  /** Merged into the commit's data (`POST /commit`). */
  commitDataPatch?: Json;
  /** Marks a deleted commit as alive again (`POST /commit`). */
  undelete?: boolean;
}

/** A JSON value as a query parameter (cast it with `::jsonb`); SQL NULL when absent. */
export const jsonParam = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

/** Python's `isoformat()` of a naive datetime has no offset: the CLI means UTC. */
function authoredTimestamp(value: string | null | undefined): string | null {
  if (!value) return null;
  return /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(value) ? value : `${value}Z`;
}

/** A location is kept when it is absolute or a URL (object storage); relative folders mean nothing here. */
export function storedLocation(value: string | null | undefined): string | null {
  return value && (value.startsWith('/') || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) ? value : null;
}

export function commitUpsertCtes(envelope: CommitEnvelope, hexsha: string, options: CommitUpsertOptions): SQL {
  const config = envelope.qaboard_config ?? null;
  const projectConfig = (config?.project ?? {}) as Json;
  const referenceBranch = typeof projectConfig.reference_branch === 'string' ? projectConfig.reference_branch : 'master';
  const isReferenceBranch = envelope.commit_branch === referenceBranch;
  const configPatch = config && {
    qatools_config: config,
    ...(envelope.qaboard_metrics && { qatools_metrics: envelope.qaboard_metrics }),
  };
  const projectName = typeof projectConfig.name === 'string' ? projectConfig.name : null;
  const repositoryPath = config ? envelope.project_root || projectName : null;
  const newProjectData = configPatch
    ? { ...configPatch, ...(repositoryPath && { git: { path_with_namespace: repositoryPath } }) }
    : {};
  const newCommitData = {
    ...(envelope.project_root && { git: { path_with_namespace: envelope.project_root } }),
    ...configPatch,
    ...options.commitDataPatch,
  };
  const touch = options.touchLatestOutput;

  // The project takes the uploaded config when its commit is first seen, and only if the project
  // has none yet or the commit is on the reference branch (so feature branches don't overwrite it).
  return sql`
    existing_commit AS (
      SELECT 1 FROM ci_commits WHERE project_id = ${envelope.project} AND hexsha = ${hexsha}
    ),
    project AS (
      INSERT INTO projects AS p (id, data, latest_output_datetime)
      VALUES (${envelope.project}, ${jsonParam(newProjectData)}::jsonb, CASE WHEN ${touch}::boolean THEN now() END)
      ON CONFLICT (id) DO UPDATE SET
        latest_output_datetime = COALESCE(EXCLUDED.latest_output_datetime, p.latest_output_datetime),
        data = CASE
          WHEN ${jsonParam(configPatch)}::jsonb IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM existing_commit)
            AND (NOT (p.data ? 'qatools_config') OR ${isReferenceBranch}::boolean)
          THEN p.data || ${jsonParam(configPatch)}::jsonb || CASE
            WHEN ${repositoryPath}::text IS NULL OR (p.data -> 'git') ? 'path_with_namespace' THEN '{}'::jsonb
            ELSE jsonb_build_object('git', COALESCE(p.data -> 'git', '{}'::jsonb) || jsonb_build_object('path_with_namespace', ${repositoryPath}::text))
          END
          ELSE p.data
        END
      RETURNING id, data
    ),
    commit AS (
      INSERT INTO ci_commits AS c (
        project_id, hexsha, authored_datetime, committer_name, message, branch, parents,
        data, commit_dir_override, latest_output_datetime
      )
      SELECT project.id, ${hexsha}, COALESCE(${authoredTimestamp(envelope.commit_authored_datetime)}::timestamptz, now()),
        ${envelope.commit_committer_name ?? null}, ${envelope.commit_message ?? null}, ${envelope.commit_branch ?? null},
        ${jsonParam(envelope.commit_parents)}::jsonb, ${jsonParam(newCommitData)}::jsonb,
        ${storedLocation(envelope.artifacts_commit ?? envelope.commit_ci_dir)},
        CASE WHEN ${touch}::boolean THEN now() END
      FROM project
      ON CONFLICT (project_id, hexsha) DO UPDATE SET
        committer_name = COALESCE(c.committer_name, EXCLUDED.committer_name),
        message = COALESCE(c.message, EXCLUDED.message),
        branch = COALESCE(c.branch, EXCLUDED.branch),
        parents = COALESCE(c.parents, EXCLUDED.parents),
        data = c.data || ${jsonParam(options.commitDataPatch ?? {})}::jsonb,
        commit_dir_override = COALESCE(EXCLUDED.commit_dir_override, c.commit_dir_override),
        latest_output_datetime = COALESCE(EXCLUDED.latest_output_datetime, c.latest_output_datetime),
        deleted = c.deleted AND NOT ${options.undelete ?? false}::boolean
      RETURNING id, hexsha, data, commit_dir_override
    )`;
}
