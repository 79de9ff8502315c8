import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { notFound } from '../../lib/problem';
import { referenceBranchOf } from '../projects/reference-branch';
import { commitColumns, type CommitRow } from '../rows';
import type { CommitJson } from '../v1-json';
import { commitDetails, type CommitDetailsOptions } from './commit-details';

/** Branch names are stored as seen: `x` from the CLI, sometimes `origin/x`. Match both. */
const onBranch = (branch: string) => sql`c.branch IN (${branch}, ${'origin/' + branch})`;

/** A commit by (a prefix of) its hexsha; `GET /api/v1/commit/:id`. */
export async function readCommit(
  db: Db,
  projectId: string,
  commitId: string,
  options: CommitDetailsOptions,
): Promise<CommitJson> {
  const sha = commitId.toLowerCase();
  const [commit] = await queryRows<CommitRow>(
    db,
    sql`SELECT ${commitColumns} FROM ci_commits c JOIN projects p ON p.id = c.project_id
    WHERE c.project_id = ${projectId} AND (c.hexsha = ${sha} OR starts_with(c.hexsha, ${sha}))
    ORDER BY c.hexsha = ${sha} DESC, c.id LIMIT 1`,
  );
  if (!commit) throw notFound(`Sorry, we could not find any data on commit ${commitId} in project ${projectId}.`);
  const [details] = await commitDetails(db, [commit], options);
  return details!;
}

async function referenceBranchOfProject(db: Db, projectId: string): Promise<string> {
  const [project] = await queryRows<{ config: unknown }>(db, sql`SELECT data -> 'qatools_config' AS config FROM projects WHERE id = ${projectId}`);
  return referenceBranchOf(project?.config);
}

/**
 * The newest of the last `withinLast` commits on a branch that has valid outputs (in `batchLabel`
 * when given): what `qa optimize` and the web app compare against. Without a branch, the
 * project's reference branch.
 */
export async function latestSuccessfulCommit(
  db: Db,
  projectId: string,
  branch: string | undefined,
  options: CommitDetailsOptions,
  withinLast = 20,
): Promise<CommitJson> {
  const branchName = branch ?? (await referenceBranchOfProject(db, projectId));
  const labelFilter = options.batchLabel === undefined ? sql`` : sql`AND b.label = ${options.batchLabel}`;
  const [commit] = await queryRows<CommitRow>(
    db,
    sql`SELECT ${commitColumns}
    FROM (SELECT * FROM ci_commits c WHERE c.project_id = ${projectId} AND ${onBranch(branchName)}
          ORDER BY c.authored_datetime DESC LIMIT ${withinLast}) c
    JOIN projects p ON p.id = c.project_id
    WHERE EXISTS (
      SELECT 1 FROM batches b JOIN outputs o ON o.batch_id = b.id
      WHERE b.ci_commit_id = c.id ${labelFilter} AND NOT o.is_failed AND NOT o.is_pending)
    ORDER BY c.authored_datetime DESC LIMIT 1`,
  );
  if (!commit) throw notFound(`Sorry, we cant find any commit with results for the ${projectId} on ${branchName}.`);
  const [details] = await commitDetails(db, [commit], options);
  return details!;
}

export interface CommitListQuery {
  projectId: string;
  branch?: string;
  committer?: string;
  /** Window end; defaults to now. */
  to?: Date;
  /** Window start; defaults to 4 days before now. */
  from?: Date;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const MAX_COMMITS = 1000;
/** Postgres timestamps span years 1 to 294276; the window's slack must not push a bound past year 1 or 9999. */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59Z');
const clampTime = (time: number) => Math.min(LATEST, Math.max(EARLIEST, time));

/**
 * `GET /api/v1/commits`: the commits with batches in a date window, newest first. When nothing
 * matches recently, the window slides back so that it ends at the latest matching commit.
 * (3 h of slack on both ends smooth out the web app's time zones, as in the original.)
 */
export async function commitsInWindow(db: Db, query: CommitListQuery, options: CommitDetailsOptions): Promise<CommitJson[]> {
  const now = Date.now();
  const to = clampTime((query.to?.getTime() ?? now) + 3 * HOUR);
  const requestedFrom = query.from?.getTime() ?? now - 4 * DAY;
  const filters: SQL[] = [sql`c.project_id = ${query.projectId}`];
  if (query.branch) filters.push(onBranch(query.branch.replace(/^origin\//, '')));
  if (query.committer) filters.push(sql`c.committer_name = ${query.committer}`);
  const where = sql.join(filters, sql` AND `);

  const [latest] = await queryRows<{ latest_ms: number | null }>(
    db,
    sql`SELECT (extract(epoch FROM max(c.authored_datetime)) * 1000)::float8 AS latest_ms FROM ci_commits c WHERE ${where}`,
  );
  if (latest?.latest_ms === null || latest?.latest_ms === undefined) return [];
  const latestTime = Number(latest.latest_ms);
  const from = clampTime(Math.min(latestTime - (to - requestedFrom), requestedFrom) - 3 * HOUR);

  const commits = await queryRows<CommitRow>(
    db,
    sql`SELECT ${commitColumns} FROM ci_commits c JOIN projects p ON p.id = c.project_id
    WHERE ${where}
      AND c.authored_datetime BETWEEN ${new Date(from).toISOString()}::timestamptz AND ${new Date(to).toISOString()}::timestamptz
      AND EXISTS (SELECT 1 FROM batches b WHERE b.ci_commit_id = c.id)
    ORDER BY c.authored_datetime DESC LIMIT ${MAX_COMMITS}`,
  );
  return commitDetails(db, commits, options);
}
