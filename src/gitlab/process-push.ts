/**
 * A push, as the original backend handled it with its git clone — through GitLab's REST API:
 * find every QA-Board config in the pushed commit, and record each (sub-)project and the commit
 * with its merged config and metric definitions.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { jsonParam } from '../domain/ingest/upsert-commit';
import type { GitLabClient, GitLabCommit } from './client';
import type { PushJob } from './jobs';
import { isConfigFile, metricsFileOf, parseYamlObject, referenceBranchOf, subProjects, type SubProject } from './qaboard-configs';

type Json = Record<string, unknown>;

const BRANCH_REF = /^refs\/heads\//;

export async function processPush(db: Db, gitlab: GitLabClient, job: PushJob): Promise<void> {
  const repository = job.project.path_with_namespace;
  const sha = job.checkoutSha;
  const [tree, commit] = await Promise.all([gitlab.tree(repository, sha), gitlab.commit(repository, sha)]);

  const configPaths = tree.filter((entry) => entry.type === 'blob' && isConfigFile(entry.path)).map((entry) => entry.path);
  const configs = new Map(
    await Promise.all(
      configPaths.map(async (path) => {
        const config = parseYamlObject(await gitlab.rawFile(repository, path, sha));
        if (!config) console.warn(JSON.stringify({ level: 'warn', repository, sha, invalid_config: path }));
        return [path, config ?? {}] as const;
      }),
    ),
  );
  const projects = subProjects(repository, configs);

  // One request per metrics file, however many sub-projects share it.
  const metricsPaths = [...new Set(projects.map((p) => metricsFileOf(p.config)).filter((p): p is string => !!p))];
  const metricsFiles = new Map(
    await Promise.all(metricsPaths.map(async (path) => [path, parseYamlObject(await gitlab.rawFile(repository, path, sha))] as const)),
  );

  // A tag names no branch: the commit keeps the branch it was (or will be) seen on.
  const branch = BRANCH_REF.test(job.ref) ? job.ref.replace(BRANCH_REF, '') : null;
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      INSERT INTO projects AS p (id, data) VALUES (${repository}, jsonb_build_object('git', ${jsonParam(job.project)}::jsonb))
      ON CONFLICT (id) DO UPDATE SET data = p.data || EXCLUDED.data`);
    for (const project of projects) {
      const metricsPath = metricsFileOf(project.config);
      const metrics = metricsPath ? metricsFiles.get(metricsPath) : null;
      await recordProjectCommit(tx, { job, project, metrics: metrics ?? null, commit, branch });
    }
  });
}

/**
 * Upserts a (sub-)project and the pushed commit. The commit always gets the config and metrics of
 * its own tree; the project only when the push is on its reference branch or it has none yet.
 */
async function recordProjectCommit(
  db: Db,
  { job, project, metrics, commit, branch }: { job: PushJob; project: SubProject; metrics: Json | null; commit: GitLabCommit; branch: string | null },
) {
  const configData = { qatools_config: project.config, ...(metrics && { qatools_metrics: metrics }) };
  const isReference = branch === referenceBranchOf(project.config);
  await db.execute(sql`
    WITH project AS (
      INSERT INTO projects AS p (id, data)
      VALUES (${project.id}, jsonb_build_object('git', ${jsonParam(job.project)}::jsonb) || ${jsonParam(configData)}::jsonb)
      ON CONFLICT (id) DO UPDATE SET data = p.data || jsonb_build_object('git', ${jsonParam(job.project)}::jsonb)
        || CASE WHEN ${isReference}::boolean OR NOT (p.data ? 'qatools_config') THEN ${jsonParam(configData)}::jsonb ELSE '{}'::jsonb END
      RETURNING id
    )
    INSERT INTO ci_commits AS c (project_id, hexsha, authored_datetime, committer_name, message, branch, parents, data)
    SELECT id, ${job.checkoutSha}, ${commit.authored_date}::timestamptz, ${commit.author_name}, ${commit.message}, ${branch},
      ${jsonParam(commit.parent_ids)}::jsonb, ${jsonParam({ git: { path_with_namespace: job.project.path_with_namespace }, ...configData })}::jsonb
    FROM project
    ON CONFLICT (project_id, hexsha) DO UPDATE SET
      committer_name = COALESCE(c.committer_name, EXCLUDED.committer_name),
      message = COALESCE(c.message, EXCLUDED.message),
      branch = COALESCE(c.branch, EXCLUDED.branch),
      parents = COALESCE(c.parents, EXCLUDED.parents),
      data = c.data || ${jsonParam(configData)}::jsonb`);
}
