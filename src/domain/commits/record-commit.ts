/**
 * Recording a commit of a project, whoever reports it — a qa CLI upload, a GitLab push, a metadata
 * backfill from GitLab. Every rule about how projects and commits are created and updated is here.
 *
 * The work is a list of CTEs (`project`, `commit`, and helpers) that callers may extend, so that an
 * upload is ONE statement: one round trip, atomic. Parents are shared by every upload of a CI run,
 * so they are created with `INSERT … ON CONFLICT DO NOTHING` and only updated when something
 * actually changes — concurrent uploads of one commit don't queue on its row lock.
 * When another transaction creates the same parent at the same moment, this statement's snapshot
 * cannot see it and the CTE comes back empty: the caller then runs the statement again
 * (`retryOnConcurrentCreate`), and the second run finds the committed row.
 */
import { sql, type SQL } from 'drizzle-orm';
import { jsonParam, queryRows, retryOnConcurrentCreate, type Db } from '../../db/client';
import type { Embedded } from '../../db/statement-templates';
import { referenceBranchOf } from '../projects/reference-branch';

type Json = Record<string, unknown>;

export interface CommitRecord {
  projectId: string;
  hexsha: string;
  /**
   * `upload`: the commit's config and metadata are recorded when the commit is created, later
   * uploads only fill what is missing (a local run may carry an edited qaboard.yaml: see batches).
   * `gitlab`: GitLab's view of the commit is authoritative — its config and authored date are
   * recorded every time.
   */
  source: 'upload' | 'gitlab';
  /** The commit's merged qaboard.yaml and metric definitions, when the source knows them. */
  config?: Json | null;
  metrics?: Json | null;
  /** GitLab's project info (a push): becomes the project's `data.git`. */
  gitProject?: Json;
  /** The repository's path (`group/repo`), recorded in `data.git` when the project has none. */
  repositoryPath?: string | null;
  branch?: string | null;
  authoredDatetime?: string | null;
  committerName?: string | null;
  /** The author's avatar on GitLab (only GitLab knows it; it replaces what was recorded). */
  committerAvatarUrl?: string | null;
  message?: string | null;
  parents?: string[] | null;
  /** Where the commit's artifacts are (qatools' `artifacts_commit`). */
  commitDir?: string | null;
  /** Merged into the commit's data (`POST /commit`). */
  commitDataPatch?: Json;
  /** Output uploads stamp `latest_output_datetime` on the project and the commit. */
  touchLatestOutput?: boolean;
  /** Marks a deleted commit as alive again (`POST /commit`). */
  undelete?: boolean;
}

/**
 * `latest_output_datetime` is refreshed at most once a second: exact enough to sort projects and
 * commits by activity, and it keeps a CI run's parallel uploads from all writing the same row.
 */
const LATEST_OUTPUT_THROTTLE = sql.raw(`interval '1 second'`);

/** Whether merging `patch` into a row's `data` changes it: only then is the row updated. */
export const patchChanges = (data: SQL, patch: SQL) => sql`${data} IS DISTINCT FROM ${data} || ${patch}`;

/** The data recording `record` may write: its config (as commits and projects hold it) and its repository. */
function recordData(record: CommitRecord) {
  const configData = record.config ? { qatools_config: record.config, ...(record.metrics && { qatools_metrics: record.metrics }) } : null;
  const gitData = record.gitProject
    ? { git: record.gitProject }
    : record.repositoryPath
      ? { git: { path_with_namespace: record.repositoryPath } }
      : {};
  return { configData, gitData };
}

/**
 * What the text of recording `record`'s rules depends on; everything else in them is a parameter, so
 * one statement compiled for a shape serves every record of that shape (see db/statement-templates.ts).
 */
export const recordShape = (record: CommitRecord) => ({ fromGitLab: record.source === 'gitlab', gitProject: Boolean(record.gitProject) });
export type RecordShape = ReturnType<typeof recordShape>;

/** The parameters of recording `record`, as the driver sends them (its `recordData` given when the caller has it). */
export function recordParams(record: CommitRecord, { configData, gitData } = recordData(record)) {
  const fromGitLab = record.source === 'gitlab';
  return {
    fromGitLab,
    configData: jsonParam(configData),
    isReferenceBranch: configData !== null && record.branch === referenceBranchOf(record.config),
    gitData: jsonParam(gitData),
    repositoryPath: record.repositoryPath ?? null,
    committer: record.committerName ?? null,
    avatar: record.committerAvatarUrl ?? null,
    message: record.message ?? null,
    branch: record.branch ?? null,
    parents: jsonParam(record.parents),
    authored: record.authoredDatetime ?? null,
    commitDir: record.commitDir ?? null,
    undelete: record.undelete ?? false,
    // Uploads record the commit's config when they create it; GitLab every time.
    dataPatch: jsonParam({ ...(fromGitLab && configData), ...record.commitDataPatch }),
  };
}
export type RecordParams = ReturnType<typeof recordParams>;

/** The rules of recording a record with parameters `r` and shape `shape`, over `projects p` and `ci_commits c`. */
function recordingRules(r: Embedded<RecordParams>, shape: RecordShape) {
  return {
    // THE rule: a project adopts the config a commit is recorded with when the commit is on the
    // project's reference branch, or when the project has none yet (feature branches don't change it).
    // `commitIsNew`: uploads record the config only on the commit they create.
    adoptsConfig: (commitIsNew: SQL) => sql`(${r.configData}::jsonb IS NOT NULL AND ${shape.fromGitLab ? sql`true` : commitIsNew}
      AND (NOT (p.data ? 'qatools_config') OR ${r.isReferenceBranch}::boolean))`,
    projectDataUpdate: shape.gitProject
      ? sql`p.data || ${r.gitData}::jsonb`
      : sql`p.data || CASE WHEN ${r.repositoryPath}::text IS NULL OR (p.data -> 'git') ? 'path_with_namespace' THEN '{}'::jsonb
        ELSE jsonb_build_object('git', COALESCE(p.data -> 'git', '{}'::jsonb) || jsonb_build_object('path_with_namespace', ${r.repositoryPath}::text)) END`,
    /** Whether recording changes the existing commit `c`, beyond its latest-output stamp. */
    commitChanges: sql`((${r.fromGitLab}::boolean AND c.authored_datetime IS DISTINCT FROM COALESCE(${r.authored}::timestamptz, c.authored_datetime))
        OR (c.committer_name IS NULL AND ${r.committer}::text IS NOT NULL)
        OR c.committer_avatar_url IS DISTINCT FROM COALESCE(${r.avatar}::text, c.committer_avatar_url)
        OR (c.message IS NULL AND ${r.message}::text IS NOT NULL)
        OR (c.branch IS NULL AND ${r.branch}::text IS NOT NULL)
        OR (c.parents IS NULL AND ${r.parents}::jsonb IS NOT NULL)
        OR ${patchChanges(sql`c.data`, sql`${r.dataPatch}::jsonb`)}
        OR c.commit_dir_override IS DISTINCT FROM COALESCE(${r.commitDir}::text, c.commit_dir_override)
        OR (c.deleted AND ${r.undelete}::boolean))`,
  };
}

/** Whether the latest-output stamp of `alias` (a project or commit row) is due: at most once a second. */
export const latestOutputStampDue = (alias: SQL) =>
  sql`(${alias}.latest_output_datetime IS NULL OR ${alias}.latest_output_datetime < now() - ${LATEST_OUTPUT_THROTTLE})`;

/**
 * Whether recording `record` on its commit `c`, which exists, and its project `p` would change them
 * beyond their latest-output stamps. A statement that finds it won't may stamp them and skip the rest
 * (domain/ingest/known-parents.ts).
 */
export function recordChangesExistingCommit(r: Embedded<RecordParams>, shape: RecordShape): SQL {
  const { adoptsConfig, projectDataUpdate, commitChanges } = recordingRules(r, shape);
  return sql`(${adoptsConfig(sql`false`)} OR p.data IS DISTINCT FROM ${projectDataUpdate} OR ${commitChanges})`;
}

export function commitRecordCtes(record: CommitRecord): SQL {
  const data = recordData(record);
  const { configData, gitData } = data;
  const r = recordParams(record, data);
  const rules = recordingRules(r, recordShape(record));
  const newProjectData = { ...gitData, ...configData };
  const newCommitData = {
    ...(record.gitProject
      ? { git: { path_with_namespace: record.gitProject.path_with_namespace } }
      : record.repositoryPath && { git: { path_with_namespace: record.repositoryPath } }),
    ...configData,
    ...record.commitDataPatch,
  };
  const touch = sql`${record.touchLatestOutput ?? false}::boolean`;
  const adoptsConfig = rules.adoptsConfig(sql`NOT EXISTS (SELECT 1 FROM existing_commit)`);

  return sql`
    existing_commit AS (
      SELECT id, hexsha, data, commit_dir_override FROM ci_commits WHERE project_id = ${record.projectId} AND hexsha = ${record.hexsha}
    ),
    new_project AS (
      INSERT INTO projects (id, data, latest_output_datetime)
      VALUES (${record.projectId}, ${jsonParam(newProjectData)}::jsonb, CASE WHEN ${touch} THEN now() END)
      ON CONFLICT (id) DO NOTHING
      RETURNING id, data
    ),
    project_update AS (
      UPDATE projects p SET
        latest_output_datetime = CASE WHEN ${touch} THEN now() ELSE p.latest_output_datetime END,
        data = CASE WHEN ${adoptsConfig} THEN ${rules.projectDataUpdate} || ${r.configData}::jsonb ELSE ${rules.projectDataUpdate} END
      WHERE p.id = ${record.projectId} AND (
        (${touch} AND ${latestOutputStampDue(sql`p`)})
        OR ${adoptsConfig}
        OR p.data IS DISTINCT FROM ${rules.projectDataUpdate})
    ),
    project AS (
      SELECT id, data FROM new_project UNION ALL SELECT id, data FROM projects WHERE id = ${record.projectId}
    ),
    new_commit AS (
      INSERT INTO ci_commits (
        project_id, hexsha, authored_datetime, committer_name, committer_avatar_url, message, branch, parents,
        data, commit_dir_override, latest_output_datetime
      )
      VALUES (${record.projectId}, ${record.hexsha}, COALESCE(${r.authored}::timestamptz, now()),
        ${r.committer}, ${r.avatar}, ${r.message}, ${r.branch}, ${r.parents}::jsonb, ${jsonParam(newCommitData)}::jsonb, ${r.commitDir},
        CASE WHEN ${touch} THEN now() END)
      ON CONFLICT (project_id, hexsha) DO NOTHING
      RETURNING id, hexsha, data, commit_dir_override, true AS created
    ),
    commit_update AS (
      UPDATE ci_commits c SET
        authored_datetime = CASE WHEN ${r.fromGitLab}::boolean THEN COALESCE(${r.authored}::timestamptz, c.authored_datetime) ELSE c.authored_datetime END,
        committer_name = COALESCE(c.committer_name, ${r.committer}),
        committer_avatar_url = COALESCE(${r.avatar}::text, c.committer_avatar_url),
        message = COALESCE(c.message, ${r.message}),
        branch = COALESCE(c.branch, ${r.branch}),
        parents = COALESCE(c.parents, ${r.parents}::jsonb),
        data = c.data || ${r.dataPatch}::jsonb,
        commit_dir_override = COALESCE(${r.commitDir}, c.commit_dir_override),
        latest_output_datetime = CASE WHEN ${touch} THEN now() ELSE c.latest_output_datetime END,
        deleted = c.deleted AND NOT ${r.undelete}::boolean
      FROM existing_commit e
      WHERE c.id = e.id AND ((${touch} AND ${latestOutputStampDue(sql`c`)}) OR ${rules.commitChanges})
    ),
    commit AS (
      SELECT id, hexsha, data, commit_dir_override, created FROM new_commit
      UNION ALL SELECT id, hexsha, data, commit_dir_override, false FROM existing_commit
    )`;
}

/** Records the commit on its own (pushes, backfills, `POST /commit`); tells whether it created it. */
export async function recordCommit(db: Db, record: CommitRecord): Promise<{ commitId: number; created: boolean }> {
  const statement = sql`WITH ${commitRecordCtes(record)} SELECT id, created FROM commit`;
  const row = await retryOnConcurrentCreate(db, async () => (await queryRows<{ id: number; created: boolean }>(db, statement))[0]);
  return { commitId: row.id, created: row.created };
}
