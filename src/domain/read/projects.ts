import { asc, eq, isNotNull, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { ciCommits, projects } from '../../db/schema';
import { notFound } from '../../lib/problem';
import { isoUtc } from '../../db/select-columns';
import { projectRepository } from '../storage-locations';

type Json = Record<string, unknown>;

export interface ProjectSummary {
  data: Json;
  latest_output_datetime: string | null;
  latest_commit_datetime: string;
  total_commits: number;
}

/**
 * `GET /api/v1/projects`: every project that has commits, with a light `data` (no metric
 * definitions; only the `project` section of its config) — the web app's project list.
 */
export async function listProjects(db: Db, canSeeProject: (projectId: string) => boolean): Promise<Record<string, ProjectSummary>> {
  const rows = await queryRows<{ id: string } & ProjectSummary>(
    db,
    sql`SELECT p.id,
      (p.data - 'qatools_metrics' - 'qatools_config') || CASE WHEN p.data ? 'qatools_config'
        THEN jsonb_build_object('qatools_config', jsonb_build_object('project', COALESCE(p.data -> 'qatools_config' -> 'project', '{}'::jsonb)))
        ELSE '{}'::jsonb END AS data,
      ${sql.raw(isoUtc('p.latest_output_datetime'))} AS latest_output_datetime,
      ${sql.raw(isoUtc('max(c.authored_datetime)'))} AS latest_commit_datetime,
      count(c.id)::int AS total_commits
    FROM projects p JOIN ci_commits c ON c.project_id = p.id
    GROUP BY p.id
    ORDER BY lower(p.id)`,
  );
  return Object.fromEntries(rows.filter(({ id }) => canSeeProject(id)).map(({ id, ...summary }) => [id, summary]));
}

/** `GET /api/v1/project`: the project's data (git info, qaboard.yaml config, metrics, milestones). */
export async function readProjectData(db: Db, projectId: string): Promise<Json> {
  const [project] = await db.select({ data: projects.data }).from(projects).where(eq(projects.id, projectId));
  if (!project) throw notFound(`Sorry, there is no project ${projectId}.`);
  return project.data;
}

/** `GET /api/v1/project/branches`: the branches the project's commits were seen on, sorted. */
export async function listBranches(db: Db, projectId: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ branch: ciCommits.branch })
    .from(ciCommits)
    .where(sql`${eq(ciCommits.projectId, projectId)} AND ${isNotNull(ciCommits.branch)}`)
    .orderBy(asc(ciCommits.branch));
  return rows.map((r) => r.branch!);
}

/** The GitLab repository a (sub-)project lives in (`data.git`); an unknown project is taken as a repository path itself. */
export async function repositoryPathOf(db: Db, projectId: string): Promise<string> {
  const [row] = await db.select({ data: projects.data }).from(projects).where(eq(projects.id, projectId));
  return row ? projectRepository({ id: projectId, data: row.data }).idGit : projectId;
}
