import { sql, type SQL } from 'drizzle-orm';
import { preparedRows, queryRows, readBatch, sendsBatchesTogether, type Db } from '../../db/client';
import { notFound } from '../../lib/problem';
import { referenceBranchOf } from '../projects/reference-branch';
import { commitColumns, type CommitRow } from '../rows';
import type { CommitJson } from '../v1-json';
import { assembleDetails, commitDetails, detailsQueries, keptOutputsOf, versionsQuery, type CommitDetailsOptions } from './commit-details';

/** Branch names are stored as seen: `x` from the CLI, sometimes `origin/x`. Match both. */
const onBranch = (branch: string) => sql`c.branch IN (${branch}, ${'origin/' + branch})`;

/** SQL: `columns` of the commit of a project by (a prefix of) its hexsha: the exact match first, else the oldest row with the prefix. */
function byPrefix(columns: SQL, projectId: string, commitId: string) {
  const sha = commitId.toLowerCase();
  return sql`SELECT ${columns} FROM ci_commits c JOIN projects p ON p.id = c.project_id
    WHERE c.project_id = ${projectId} AND (c.hexsha = ${sha} OR starts_with(c.hexsha, ${sha}))
    ORDER BY c.hexsha = ${sha} DESC, c.id LIMIT 1`;
}

/** A commit of a project by (a prefix of) its hexsha. */
export async function commitByPrefix(db: Db, projectId: string, commitId: string): Promise<CommitRow | undefined> {
  const [commit] = await preparedRows<CommitRow>(db, byPrefix(commitColumns, projectId, commitId));
  return commit;
}

/** A commit by (a prefix of) its hexsha; `GET /api/v1/commit/:id`. */
export async function readCommit(
  db: Db,
  projectId: string,
  commitId: string,
  options: CommitDetailsOptions,
): Promise<CommitJson> {
  const found = await foundCommitDetails(db, (columns) => byPrefix(columns, projectId, commitId), options);
  if (!found) throw notFound(`Sorry, we could not find any data on commit ${commitId} in project ${projectId}.`);
  return found;
}

async function referenceBranchOfProject(db: Db, projectId: string): Promise<string> {
  const [project] = await queryRows<{ config: unknown }>(db, sql`SELECT data -> 'qatools_config' AS config FROM projects WHERE id = ${projectId}`);
  return referenceBranchOf(project?.config);
}

export interface LatestSuccessfulQuery {
  /** Only commits with valid outputs in this batch (any batch when absent). */
  batchLabel?: string;
  /** How many of the branch's newest commits are looked at. */
  withinLast?: number;
  /** Never this commit (a commit is not its own reference). */
  excludingHexsha?: string;
}

/**
 * SQL: `columns` of the newest of the last `withinLast` commits on `branchName` with valid outputs
 * (latestSuccessfulCommitRow). Of commits authored at the same moment, the one recorded last: every
 * statement finding it finds the same one (over Neon's HTTP, the commit and its batches' are two).
 */
function latestSuccessful(columns: SQL, projectId: string, branchName: string, { batchLabel, withinLast = 20, excludingHexsha }: LatestSuccessfulQuery) {
  const labelFilter = batchLabel === undefined ? sql`` : sql`AND b.label = ${batchLabel}`;
  const excluded = excludingHexsha === undefined ? sql`` : sql`AND c.hexsha <> ${excludingHexsha}`;
  return sql`SELECT ${columns}
    FROM (SELECT * FROM ci_commits c WHERE c.project_id = ${projectId} AND ${onBranch(branchName)} ${excluded}
          ORDER BY c.authored_datetime DESC, c.id DESC LIMIT ${withinLast}) c
    JOIN projects p ON p.id = c.project_id
    WHERE EXISTS (
      SELECT 1 FROM batches b JOIN outputs o ON o.batch_id = b.id
      WHERE b.ci_commit_id = c.id ${labelFilter} AND NOT o.is_failed AND NOT o.is_pending)
    ORDER BY c.authored_datetime DESC, c.id DESC LIMIT 1`;
}

/**
 * The newest of the last `withinLast` (20) commits on a branch that has valid outputs (in
 * `batchLabel` when given): what `qa optimize`, the web app and regression verdicts compare
 * against. Without a branch, the project's reference branch.
 */
export async function latestSuccessfulCommitRow(
  db: Db,
  projectId: string,
  branch: string | undefined,
  query: LatestSuccessfulQuery = {},
): Promise<{ commit: CommitRow | undefined; branch: string }> {
  const branchName = branch ?? (await referenceBranchOfProject(db, projectId));
  const [commit] = await queryRows<CommitRow>(db, latestSuccessful(commitColumns, projectId, branchName, query));
  return { commit, branch: branchName };
}

/**
 * The commit a statement finds (`found`: `columns` → SQL) with its details. Where statements are
 * sent together (one request over Neon's HTTP, readBatch), the details' statements find the commit
 * themselves — with outputs kept, only the versions of its batches, the outputs only if a text
 * doesn't hold (`commitDetails`); elsewhere they run one after the other anyway, and the commit is
 * read first.
 */
async function foundCommitDetails(db: Db, found: (columns: SQL) => SQL, options: CommitDetailsOptions): Promise<CommitJson | undefined> {
  if (!sendsBatchesTogether(db)) {
    const [commit] = await preparedRows<CommitRow>(db, found(commitColumns));
    return commit && (await commitDetails(db, [commit], options))[0];
  }
  const foundIds = sql`ARRAY(${found(sql`c.id`)})`;
  const keeps = keptOutputsOf(options) !== undefined;
  const [rows, ...details] = await readBatch(db, [found(commitColumns), ...(keeps ? [versionsQuery(foundIds, options)] : detailsQueries(foundIds, options))]);
  const commit = rows![0] as CommitRow | undefined;
  if (!commit) return undefined;
  return (keeps ? await commitDetails(db, [commit], options, details[0]) : await assembleDetails(db, [commit], details, options))[0];
}

/** `GET /api/v1/commit` without a commit: the latest successful commit of a branch (the reference branch when absent), with its batches and outputs. */
export async function latestSuccessfulCommit(
  db: Db,
  projectId: string,
  branch: string | undefined,
  options: CommitDetailsOptions,
): Promise<CommitJson> {
  const branchName = branch ?? (await referenceBranchOfProject(db, projectId));
  const found = await foundCommitDetails(db, (columns) => latestSuccessful(columns, projectId, branchName, { batchLabel: options.batchLabel }), options);
  if (!found) throw notFound(`Sorry, we cant find any commit with results for the ${projectId} on ${branchName}.`);
  return found;
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
export const MAX_COMMITS_PER_PAGE = 1000;
/** Postgres timestamps span years 1 to 294276; the window's slack must not push a bound past year 1 or 9999. */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59Z');
const clampTime = (time: number) => Math.min(LATEST, Math.max(EARLIEST, time));

/**
 * Where a page of the commit list starts: the window of the first page (so that every page of a
 * list shows the same window, however long the client takes) and the last commit shown.
 */
export interface CommitCursor {
  from: number;
  to: number;
  /** The last commit shown: its authored date-time (ISO, µs) and id; the page starts after it. */
  after: [string, number];
}

export const encodeCursor = (cursor: CommitCursor) =>
  btoa(JSON.stringify(cursor)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

/** An instant as the API writes it (db/select-columns.ts `isoUtc`): a real date of years 1 to 9999. */
const isWrittenInstant = (value: unknown): value is string =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/.test(value) && !value.startsWith('0000') &&
  // Date.parse takes 30 February for 2 March: the date must read back as written.
  new Date(Date.parse(value)).toISOString().slice(0, 19) === value.slice(0, 19);
const MAX_COMMIT_ID = 2_147_483_647;

/** The cursor a client sent back, or undefined when it isn't one this API writes. */
export function decodeCursor(text: string): CommitCursor | undefined {
  try {
    const value = JSON.parse(atob(text.replaceAll('-', '+').replaceAll('_', '/'))) as CommitCursor;
    const [instant, commitId] = Array.isArray(value.after) ? value.after : [];
    const valid =
      Number.isFinite(value.from) && Number.isFinite(value.to) && isWrittenInstant(instant) &&
      Number.isInteger(commitId) && (commitId as number) >= 0 && (commitId as number) <= MAX_COMMIT_ID;
    return valid ? { from: clampTime(value.from), to: clampTime(value.to), after: [instant, commitId as number] } : undefined;
  } catch {
    return undefined;
  }
}

export interface CommitPage {
  commits: CommitJson[];
  /** The cursor of the next page, when there is one. */
  next?: string;
}

/**
 * `GET /api/v1/commits`: the commits with batches in a date window, newest first, `limit` per page.
 * When nothing matches recently, the window slides back so that it ends at the latest matching
 * commit. (3 h of slack on both ends smooth out the web app's time zones, as in the original.)
 * Pages are cut on (authored date, id): keyset pagination, as fast on the last page as on the first.
 */
export async function commitsInWindow(
  db: Db,
  query: CommitListQuery,
  options: CommitDetailsOptions,
  page: { limit: number; cursor?: CommitCursor } = { limit: MAX_COMMITS_PER_PAGE },
): Promise<CommitPage> {
  const filters: SQL[] = [sql`c.project_id = ${query.projectId}`];
  if (query.branch) filters.push(onBranch(query.branch.replace(/^origin\//, '')));
  if (query.committer) filters.push(sql`c.committer_name = ${query.committer}`);
  const where = sql.join(filters, sql` AND `);

  let window = page.cursor && { from: page.cursor.from, to: page.cursor.to };
  if (!window) {
    const now = Date.now();
    const to = clampTime((query.to?.getTime() ?? now) + 3 * HOUR);
    const requestedFrom = query.from?.getTime() ?? now - 4 * DAY;
    const [latest] = await preparedRows<{ latest_ms: number | null }>(
      db,
      sql`SELECT (extract(epoch FROM max(c.authored_datetime)) * 1000)::float8 AS latest_ms FROM ci_commits c WHERE ${where}`,
    );
    if (latest?.latest_ms === null || latest?.latest_ms === undefined) return { commits: [] };
    window = { from: clampTime(Math.min(Number(latest.latest_ms) - (to - requestedFrom), requestedFrom) - 3 * HOUR), to };
  }
  const after = page.cursor ? sql`AND (c.authored_datetime, c.id) < (${page.cursor.after[0]}::timestamptz, ${page.cursor.after[1]})` : sql``;
  const rows = await preparedRows<CommitRow>(
    db,
    sql`SELECT ${commitColumns} FROM ci_commits c JOIN projects p ON p.id = c.project_id
    WHERE ${where}
      AND c.authored_datetime BETWEEN ${new Date(window.from).toISOString()}::timestamptz AND ${new Date(window.to).toISOString()}::timestamptz
      ${after}
      AND EXISTS (SELECT 1 FROM batches b WHERE b.ci_commit_id = c.id)
    ORDER BY c.authored_datetime DESC, c.id DESC LIMIT ${page.limit + 1}`,
  );
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  const next = rows.length > page.limit && last ? encodeCursor({ ...window, after: [last.authoredDatetime, last.commitId] }) : undefined;
  return { commits: await commitDetails(db, shown, options), next };
}
