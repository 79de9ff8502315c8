import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { notFound } from '../../lib/problem';
import { commitColumns, type CommitJson, type CommitRow } from '../rows';
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

/**
 * The newest of the last `withinLast` commits on a branch that has valid outputs (in `batchLabel`
 * when given): what `qa optimize` and the web app compare against. Without a branch, the
 * project's reference branch (`master` by default).
 */
export async function latestSuccessfulCommit(
  db: Db,
  projectId: string,
  branch: string | undefined,
  options: CommitDetailsOptions,
  withinLast = 20,
): Promise<CommitJson> {
  const branchName =
    branch ??
    (
      await queryRows<{ reference_branch: string | null }>(
        db,
        sql`SELECT data -> 'qatools_config' -> 'project' ->> 'reference_branch' AS reference_branch FROM projects WHERE id = ${projectId}`,
      )
    )[0]?.reference_branch ??
    'master';
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

/**
 * `GET /api/v1/commits`: the commits with batches in a date window, newest first. When nothing
 * matches recently, the window slides back so that it ends at the latest matching commit.
 * (3 h of slack on both ends smooth out the web app's time zones, as in the original.)
 */
export async function listCommits(db: Db, query: CommitListQuery, options: CommitDetailsOptions): Promise<CommitJson[]> {
  const now = Date.now();
  const to = (query.to?.getTime() ?? now) + 3 * HOUR;
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
  const from = Math.min(latestTime - (to - requestedFrom), requestedFrom) - 3 * HOUR;

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
