import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client';
import { milestoneCommits } from '../domain/milestones/milestones';
import { referenceBranchOf } from '../domain/projects/reference-branch';
import { artifactKeys } from '../domain/storage-locations';

/** Parses `storage.garbage.after` of qaboard.yaml (`2weeks`, `1month`, `1 year`, `3days`) into days. */
export function retentionDays(after: unknown): number | undefined {
  if (typeof after !== 'string') return undefined;
  const match = /^\s*(\d+)?\s*(day|week|month|year)s?\s*$/i.exec(after);
  if (!match) return undefined;
  const daysPerUnit = { day: 1, week: 7, month: 30, year: 365 } as const;
  return Number(match[1] ?? 1) * daysPerUnit[match[2]!.toLowerCase() as keyof typeof daysPerUnit];
}

export interface ExpiredCommit {
  projectId: string;
  hexsha: string;
  branch: string | null;
  outputs: number;
}

/**
 * The commits whose outputs the retention policy removes (what clean.py did): commits authored
 * before their project's window, with live outputs, none of them newer than the window; never on
 * the reference branch or a protected ref (qaboard.yaml `project.milestones`), never a milestone
 * commit saved from the web app. Projects without `storage.garbage.after` keep everything.
 */
export async function expiredCommits(db: Db, now: Date, projectId?: string): Promise<ExpiredCommit[]> {
  const projects = await queryRows<{ id: string; data: Record<string, any> }>(
    db,
    sql`SELECT id, data FROM projects ${projectId ? sql`WHERE id = ${projectId}` : sql``}`,
  );
  const expired: ExpiredCommit[] = [];
  for (const project of projects) {
    const config = project.data.qatools_config ?? {};
    const days = retentionDays(config.storage?.garbage?.after);
    if (days === undefined) continue;
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    const protectedRefs = [referenceBranchOf(config), ...(config.project?.milestones ?? [])].map(String);
    expired.push(
      ...(await queryRows<ExpiredCommit>(
        db,
        sql`SELECT c.project_id AS "projectId", c.hexsha, c.branch, count(*)::int AS outputs
            FROM ci_commits c JOIN batches b ON b.ci_commit_id = c.id JOIN outputs o ON o.batch_id = b.id
            WHERE c.project_id = ${project.id} AND c.authored_datetime < ${cutoff.toISOString()}
              AND NOT o.deleted
              AND NOT jsonb_exists(${JSON.stringify(protectedRefs)}::jsonb, coalesce(c.branch, ''))
              AND NOT EXISTS (SELECT 1 FROM (${milestoneCommits}) mc WHERE mc.project_id = c.project_id AND mc.hexsha = c.hexsha)
            GROUP BY c.id
            HAVING max(o.created_date) < ${cutoff.toISOString()}
            ORDER BY c.authored_datetime`,
      )),
    );
  }
  return expired;
}

/** Marks the outputs of expired commits deleted, queues the deletion of their R2 files, and logs a summary. */
export async function applyRetention(db: Db, now: Date, deleteFiles: (prefixes: string[]) => Promise<void>): Promise<{ commits: number; outputs: number }> {
  const expired = await expiredCommits(db, now);
  let outputs = 0;
  for (const commit of expired) {
    const marked = await queryRows<{ id: number; batchId: number }>(
      db,
      sql`UPDATE outputs o SET deleted = true, updated_at = now() FROM batches b, ci_commits c
          WHERE o.batch_id = b.id AND b.ci_commit_id = c.id AND c.project_id = ${commit.projectId}
            AND c.hexsha = ${commit.hexsha} AND NOT o.deleted
          RETURNING o.id, o.batch_id AS "batchId"`,
    );
    outputs += marked.length;
    // Every output of the commit is now deleted: its batches' prefixes hold nothing to keep.
    const batchIds = [...new Set(marked.map((o) => o.batchId))];
    await deleteFiles(batchIds.map((id) => `${artifactKeys.batch(commit.projectId, commit.hexsha, id)}/`));
  }
  console.log(`retention: marked ${outputs} outputs of ${expired.length} commits deleted`);
  return { commits: expired.length, outputs };
}
