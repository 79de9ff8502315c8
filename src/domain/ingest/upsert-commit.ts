/**
 * The part of every ingestion statement that gets-or-creates the project and the commit.
 *
 * It is a list of CTEs (`project`, `commit`, and helpers) that callers extend, so that an upload
 * is ONE statement: one round trip, atomic. Parents are shared by every upload of a CI run, so
 * they are created with `INSERT … ON CONFLICT DO NOTHING` and only updated when something
 * actually changes — concurrent uploads of one commit don't queue on its row lock.
 * When another transaction creates the same parent at the same moment, this statement's snapshot
 * cannot see it and the CTE comes back empty: the caller then runs the statement again
 * (`retryOnConcurrentCreate`), and the second run finds the committed row.
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

/** What an upload answers, and whether it created its commit (then the commit may need GitLab metadata). */
export interface Ingested<T> {
  body: T;
  commitCreated: boolean;
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

/**
 * `latest_output_datetime` is refreshed at most once a second: exact enough to sort projects and
 * commits by activity, and it keeps a CI run's parallel uploads from all writing the same row.
 */
const STALE = sql.raw(`interval '1 second'`);

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
  const touch = sql`${options.touchLatestOutput}::boolean`;
  const committer = envelope.commit_committer_name ?? null;
  const message = envelope.commit_message ?? null;
  const branch = envelope.commit_branch ?? null;
  const parents = jsonParam(envelope.commit_parents);
  const commitDir = storedLocation(envelope.artifacts_commit ?? envelope.commit_ci_dir);
  const dataPatch = jsonParam(options.commitDataPatch ?? {});
  const undelete = sql`${options.undelete ?? false}::boolean`;

  // The project takes the uploaded config when its commit is first seen, and only if the project
  // has none yet or the commit is on the reference branch (feature branches don't overwrite it).
  const takesConfig = sql`(${jsonParam(configPatch)}::jsonb IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM existing_commit)
    AND (NOT (p.data ? 'qatools_config') OR ${isReferenceBranch}::boolean))`;

  return sql`
    existing_commit AS (
      SELECT id, hexsha, data, commit_dir_override FROM ci_commits WHERE project_id = ${envelope.project} AND hexsha = ${hexsha}
    ),
    new_project AS (
      INSERT INTO projects (id, data, latest_output_datetime)
      VALUES (${envelope.project}, ${jsonParam(newProjectData)}::jsonb, CASE WHEN ${touch} THEN now() END)
      ON CONFLICT (id) DO NOTHING
      RETURNING id, data
    ),
    project_update AS (
      UPDATE projects p SET
        latest_output_datetime = CASE WHEN ${touch} THEN now() ELSE p.latest_output_datetime END,
        data = CASE WHEN ${takesConfig} THEN p.data || ${jsonParam(configPatch)}::jsonb || CASE
            WHEN ${repositoryPath}::text IS NULL OR (p.data -> 'git') ? 'path_with_namespace' THEN '{}'::jsonb
            ELSE jsonb_build_object('git', COALESCE(p.data -> 'git', '{}'::jsonb) || jsonb_build_object('path_with_namespace', ${repositoryPath}::text))
          END
          ELSE p.data END
      WHERE p.id = ${envelope.project}
        AND ((${touch} AND (p.latest_output_datetime IS NULL OR p.latest_output_datetime < now() - ${STALE})) OR ${takesConfig})
    ),
    project AS (
      SELECT id, data FROM new_project UNION ALL SELECT id, data FROM projects WHERE id = ${envelope.project}
    ),
    new_commit AS (
      INSERT INTO ci_commits (
        project_id, hexsha, authored_datetime, committer_name, message, branch, parents,
        data, commit_dir_override, latest_output_datetime
      )
      VALUES (${envelope.project}, ${hexsha}, COALESCE(${authoredTimestamp(envelope.commit_authored_datetime)}::timestamptz, now()),
        ${committer}, ${message}, ${branch}, ${parents}::jsonb, ${jsonParam(newCommitData)}::jsonb, ${commitDir},
        CASE WHEN ${touch} THEN now() END)
      ON CONFLICT (project_id, hexsha) DO NOTHING
      RETURNING id, hexsha, data, commit_dir_override, true AS created
    ),
    commit_update AS (
      UPDATE ci_commits c SET
        committer_name = COALESCE(c.committer_name, ${committer}),
        message = COALESCE(c.message, ${message}),
        branch = COALESCE(c.branch, ${branch}),
        parents = COALESCE(c.parents, ${parents}::jsonb),
        data = c.data || ${dataPatch}::jsonb,
        commit_dir_override = COALESCE(${commitDir}, c.commit_dir_override),
        latest_output_datetime = CASE WHEN ${touch} THEN now() ELSE c.latest_output_datetime END,
        deleted = c.deleted AND NOT ${undelete}
      FROM existing_commit e
      WHERE c.id = e.id AND (
        (${touch} AND (c.latest_output_datetime IS NULL OR c.latest_output_datetime < now() - ${STALE}))
        OR (c.committer_name IS NULL AND ${committer}::text IS NOT NULL)
        OR (c.message IS NULL AND ${message}::text IS NOT NULL)
        OR (c.branch IS NULL AND ${branch}::text IS NOT NULL)
        OR (c.parents IS NULL AND ${parents}::jsonb IS NOT NULL)
        OR c.data IS DISTINCT FROM c.data || ${dataPatch}::jsonb
        OR c.commit_dir_override IS DISTINCT FROM COALESCE(${commitDir}, c.commit_dir_override)
        OR (c.deleted AND ${undelete}))
    ),
    commit AS (
      SELECT id, hexsha, data, commit_dir_override, created FROM new_commit
      UNION ALL SELECT id, hexsha, data, commit_dir_override, false FROM existing_commit
    )`;
}
