import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client';
import { milestoneCommits } from '../domain/milestones/milestones';
import { recordFileDeletions, recordedIds } from '../domain/files/file-deletion-outbox';
import { referenceBranchOf } from '../domain/projects/reference-branch';
import { artifactKeys } from '../domain/storage-locations';
import { nextUpdatedAt } from '../domain/updated-at';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The longest window a project may set: anything longer is a typo, and its date would not fit (years beyond 9999). */
export const MAX_RETENTION_DAYS = 100 * 365;

/** Parses `storage.garbage.after` of qaboard.yaml (`2weeks`, `1month`, `1 year`, `3days`) into days, 1 to `MAX_RETENTION_DAYS`. */
export function retentionDays(after: unknown): number | undefined {
  if (typeof after !== 'string') return undefined;
  const match = /^\s*(\d{1,9})?\s*(day|week|month|year)s?\s*$/i.exec(after);
  if (!match) return undefined;
  const daysPerUnit = { day: 1, week: 7, month: 30, year: 365 } as const;
  const days = Number(match[1] ?? 1) * daysPerUnit[match[2]!.toLowerCase() as keyof typeof daysPerUnit];
  return days >= 1 && days <= MAX_RETENTION_DAYS ? days : undefined;
}

/** A project's retention policy: none (keep everything), or its window and the refs it never touches. */
export type RetentionPolicy = { days: number; protectedRefs: string[] } | { keepAll: true } | { invalid: string };

/**
 * Reads a project's qaboard.yaml retention settings, which the projects' own CI wrote: anything
 * that can't be read exactly — a window that isn't one, protected refs that aren't a list of
 * names — makes the policy invalid, and that project keeps everything (a guess could delete
 * commits its owners meant to keep).
 */
export function retentionPolicy(config: unknown): RetentionPolicy {
  const garbage = isObject(config) && isObject(config.storage) ? config.storage.garbage : undefined;
  if (!isObject(garbage) || garbage.after === undefined || garbage.after === null) return { keepAll: true };
  const days = retentionDays(garbage.after);
  if (days === undefined) {
    return { invalid: `storage.garbage.after must be a duration like "1month" or "2 weeks", from 1 day to ${MAX_RETENTION_DAYS / 365} years (got ${JSON.stringify(garbage.after)?.slice(0, 100)})` };
  }
  const milestones = isObject(config) && isObject(config.project) ? (config.project.milestones ?? []) : [];
  const refs = typeof milestones === 'string' || typeof milestones === 'number' ? [milestones] : milestones;
  if (!Array.isArray(refs) || !refs.every((ref) => typeof ref === 'string' || typeof ref === 'number')) {
    return { invalid: 'project.milestones must be a list of branch or tag names' };
  }
  return { days, protectedRefs: [referenceBranchOf(config), ...refs.map(String)] };
}

const logSkipped = (projectId: string, reason: string) =>
  console.warn(JSON.stringify({ level: 'warn', job: 'retention', project: projectId, skipped: reason }));

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
  const projects = await queryRows<{ id: string; config: unknown }>(
    db,
    sql`SELECT id, data -> 'qatools_config' AS config FROM projects ${projectId ? sql`WHERE id = ${projectId}` : sql``} ORDER BY id`,
  );
  const expired: ExpiredCommit[] = [];
  for (const project of projects) {
    const policy = retentionPolicy(project.config);
    if ('keepAll' in policy) continue;
    if ('invalid' in policy) {
      logSkipped(project.id, policy.invalid);
      continue;
    }
    const cutoff = new Date(now.getTime() - policy.days * 86_400_000).toISOString();
    try {
      expired.push(
        ...(await queryRows<ExpiredCommit>(
          db,
          sql`SELECT c.project_id AS "projectId", c.hexsha, c.branch, count(*)::int AS outputs
              FROM ci_commits c JOIN batches b ON b.ci_commit_id = c.id JOIN outputs o ON o.batch_id = b.id
              WHERE c.project_id = ${project.id} AND c.authored_datetime < ${cutoff}
                AND NOT o.deleted
                AND NOT jsonb_exists(${JSON.stringify(policy.protectedRefs)}::jsonb, coalesce(c.branch, ''))
                AND NOT EXISTS (SELECT 1 FROM (${milestoneCommits}) mc WHERE mc.project_id = c.project_id AND mc.hexsha = c.hexsha)
              GROUP BY c.id
              HAVING max(o.created_date) < ${cutoff}
              ORDER BY c.authored_datetime`,
        )),
      );
    } catch (error) {
      // One project's failure (its milestones, its data) must not keep the others from being cleaned.
      logSkipped(project.id, (error as Error).message);
    }
  }
  return expired;
}

/** Marks the outputs of expired commits deleted, records the deletion of their R2 files (and queues it), and logs a summary. */
export async function applyRetention(db: Db, now: Date, queueFileDeletions: (ids: number[]) => Promise<void>): Promise<{ commits: number; outputs: number }> {
  const expired = await expiredCommits(db, now);
  let outputs = 0;
  for (const commit of expired) {
    const commitPrefix = `${artifactKeys.commit(commit.projectId, commit.hexsha)}/`;
    // Every output of the commit is now deleted: its batches' prefixes hold nothing to keep.
    const [row] = await queryRows<{ n: number; ids: number[] }>(
      db,
      sql`WITH marked AS (
            UPDATE outputs o SET deleted = true, updated_at = ${nextUpdatedAt('o.updated_at')} FROM batches b, ci_commits c
            WHERE o.batch_id = b.id AND b.ci_commit_id = c.id AND c.project_id = ${commit.projectId}
              AND c.hexsha = ${commit.hexsha} AND NOT o.deleted
            RETURNING o.batch_id
          ),
          outbox AS (${recordFileDeletions(sql`SELECT DISTINCT ${commitPrefix}::text || batch_id || '/' FROM marked`)})
          SELECT (SELECT count(*)::int FROM marked) AS n, ${recordedIds} AS ids`,
    );
    outputs += row!.n;
    await queueFileDeletions(row!.ids);
  }
  console.log(`retention: marked ${outputs} outputs of ${expired.length} commits deleted`);
  return { commits: expired.length, outputs };
}
