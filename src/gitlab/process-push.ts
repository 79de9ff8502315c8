/**
 * A push, as the original backend handled it with its git clone — through GitLab's REST API:
 * find every QA-Board config in the pushed commit, and record each (sub-)project's commit with its
 * merged config and metric definitions. This module only fetches and maps; how commits and
 * projects are recorded is domain/commits/record-commit.ts.
 */
import { sql } from 'drizzle-orm';
import { jsonParam, type Db } from '../db/client';
import { recordCommit } from '../domain/commits/record-commit';
import { authorAvatar } from './author-avatar';
import type { GitLabClient } from './client';
import { isConfigFile, metricsFileOf, parseYamlObject, subProjects } from './qaboard-configs';

const BRANCH_REF = /^refs\/heads\//;

export interface PushJob {
  type: 'push';
  /** GitLab's project info from the webhook. */
  project: { id: number; path_with_namespace: string } & Record<string, unknown>;
  ref: string;
  checkoutSha: string;
  /** `X-Gitlab-Event-UUID` (or `Idempotency-Key`), for the logs: processing is idempotent anyway. */
  eventId: string | null;
}

export async function processPush(db: Db, gitlab: GitLabClient, job: PushJob): Promise<void> {
  const repository = job.project.path_with_namespace;
  const sha = job.checkoutSha;
  const [tree, commit] = await Promise.all([gitlab.tree(repository, sha), gitlab.commit(repository, sha)]);
  const avatar = await authorAvatar(gitlab, commit);

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
    // The repository itself is a project even without a config at its root (sub-projects' parent).
    await tx.execute(sql`
      INSERT INTO projects AS p (id, data) VALUES (${repository}, jsonb_build_object('git', ${jsonParam(job.project)}::jsonb))
      ON CONFLICT (id) DO UPDATE SET data = p.data || EXCLUDED.data`);
    for (const project of projects) {
      const metricsPath = metricsFileOf(project.config);
      await recordCommit(tx, {
        projectId: project.id,
        hexsha: sha,
        source: 'gitlab',
        config: project.config,
        metrics: (metricsPath && metricsFiles.get(metricsPath)) || null,
        gitProject: job.project,
        branch,
        authoredDatetime: commit.authored_date,
        committerName: commit.author_name,
        committerAvatarUrl: avatar,
        message: commit.message,
        parents: commit.parent_ids,
      });
    }
  });
}
