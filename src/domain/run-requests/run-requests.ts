/**
 * Run requests: runs asked for from the web app — tuning, redo of a batch or an output,
 * save-artifacts — dispatched to CI as GitLab pipelines and tracked to the end:
 *
 *   queued      recorded here; a dispatch job is queued (routes/run-requests/submit-run-request.ts)
 *   dispatched  a pipeline was created on the commit (gitlab/run-request-jobs.ts)
 *   running     an upload carrying its command id arrived (`startRunRequests`, from ingestion)
 *   done        its batch has no pending output left and outputs were reported since it started
 *               (`finishRunRequests`, a reaction of domain/batches/batch-completion.ts)
 *   failed      GitLab refused it, retries ran out, or nothing was reported for STALE_RUN_HOURS
 *   cancelled   cancelled by a user, or its batch was stopped
 *
 * The wire shape is the table's row (drizzle-zod), with the commit's hexsha instead of its row id.
 */
import { z } from '@hono/zod-openapi';
import { and, desc, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import { createSelectSchema } from 'drizzle-zod';
import { intArrayLiteral, queryRows, type Db } from '../../db/client';
import { ciCommits, RUN_REQUEST_STATUSES, runRequests } from '../../db/schema';
import { conflict, notFound } from '../../lib/problem';

const timestamp = (column: z.ZodType) => column.openapi({ format: 'date-time' });

export const runRequestSchema = createSelectSchema(runRequests, {
  parameters: z.record(z.string(), z.unknown()).openapi({ description: 'What was asked: the tuning form’s fields, or which outputs to redo.' }),
  batch_label: (column) => column.openapi({ description: 'The batch the runs report to (null for save-artifacts).' }),
  command_id: (column) => column.openapi({ description: 'The `QA_BATCH_COMMAND_ID` of the pipeline: uploads carrying it move the request to `running`.' }),
  pipeline_url: (column) => column.openapi({ description: 'The GitLab pipeline, once dispatched.' }),
  created_at: timestamp,
  updated_at: timestamp,
  dispatched_at: timestamp,
  started_at: timestamp,
  finished_at: timestamp,
})
  .omit({ ci_commit_id: true })
  .extend({ commit: z.string().openapi({ description: 'The hexsha of the commit the runs are for.' }) })
  .openapi('RunRequest', {
    example: {
      id: 12,
      kind: 'tuning',
      project_id: 'group/repo',
      commit: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
      batch_id: 78,
      batch_label: 'denoise-sweep',
      parameters: { selected_group: 'night', tuning_search: { search_type: 'grid', parameter_search: { strength: [0.3, 0.5] } } },
      requested_by: 'token:7',
      status: 'dispatched',
      command_id: '5f0c2a91-run-request-12',
      pipeline_id: 9031,
      pipeline_url: 'https://gitlab.example.com/group/repo/-/pipelines/9031',
      error: null,
      created_at: '2026-11-29T08:16:00.123+00:00',
      updated_at: '2026-11-29T08:16:01.456+00:00',
      dispatched_at: '2026-11-29T08:16:01.456+00:00',
      started_at: null,
      finished_at: null,
    },
  });
export type RunRequest = z.infer<typeof runRequestSchema>;
export type RunRequestKind = RunRequest['kind'];
export type RunRequestStatus = (typeof RUN_REQUEST_STATUSES)[number];

const ACTIVE: RunRequestStatus[] = ['queued', 'dispatched', 'running'];

/** ISO 8601 timestamps whatever the driver's text format (as src/auth/tokens.ts). */
const iso = (column: unknown) => sql<string>`to_json(${column})#>>'{}'`;
const { ci_commit_id: _, ...columns } = getTableColumns(runRequests);
const selected = {
  ...columns,
  commit: ciCommits.hexsha,
  created_at: iso(runRequests.created_at),
  updated_at: iso(runRequests.updated_at),
  dispatched_at: sql<string | null>`to_json(${runRequests.dispatched_at})#>>'{}'`,
  started_at: sql<string | null>`to_json(${runRequests.started_at})#>>'{}'`,
  finished_at: sql<string | null>`to_json(${runRequests.finished_at})#>>'{}'`,
};

async function selectRunRequests(db: Db, where: SQL | undefined, limit = 1): Promise<RunRequest[]> {
  return (await db
    .select(selected)
    .from(runRequests)
    .innerJoin(ciCommits, eq(ciCommits.id, runRequests.ci_commit_id))
    .where(where)
    .orderBy(desc(runRequests.id))
    .limit(limit)) as RunRequest[];
}

/**
 * The command id a request's pipeline runs `qa batch` with. Unique in its first 8 characters:
 * qa's runners name jobs after that prefix (LSF's `bkill -J "<prefix>*"`).
 */
const COMMAND_ID = /^[0-9a-f]{8}-run-request-[0-9]+$/;
export const isRunRequestCommandId = (commandId: unknown): commandId is string => typeof commandId === 'string' && COMMAND_ID.test(commandId);

export interface NewRunRequest {
  kind: RunRequestKind;
  projectId: string;
  commitId: number;
  /** The batch the runs report to; tuning creates it when missing. */
  batch?: { label: string; create: boolean };
  parameters: Record<string, unknown>;
  requestedBy: string;
}

/** Records a request (status `queued`), creating its batch when asked — the web app shows it at once. */
export async function createRunRequest(db: Db, spec: NewRunRequest): Promise<RunRequest> {
  const prefix = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');
  const label = spec.batch?.label ?? null;
  const batchCte = spec.batch?.create
    ? sql`new_batch AS (
        INSERT INTO batches (ci_commit_id, label) VALUES (${spec.commitId}, ${label}) ON CONFLICT (ci_commit_id, label) DO NOTHING RETURNING id
      ),
      batch AS (SELECT id FROM new_batch UNION ALL SELECT id FROM batches WHERE ci_commit_id = ${spec.commitId} AND label = ${label})`
    : sql`batch AS (SELECT id FROM batches WHERE ci_commit_id = ${spec.commitId} AND label = ${label})`;
  const [row] = await queryRows<{ id: number }>(
    db,
    sql`WITH ${batchCte},
      next AS (SELECT nextval(pg_get_serial_sequence('run_requests', 'id'))::int AS id)
    INSERT INTO run_requests (id, kind, project_id, ci_commit_id, batch_id, batch_label, parameters, requested_by, command_id)
    SELECT next.id, ${spec.kind}, ${spec.projectId}, ${spec.commitId}, (SELECT id FROM batch LIMIT 1), ${label},
      ${JSON.stringify(spec.parameters)}::jsonb, ${spec.requestedBy}, ${prefix} || '-run-request-' || next.id
    FROM next
    RETURNING id`,
  );
  return (await selectRunRequests(db, eq(runRequests.id, row!.id)))[0]!;
}

export async function readRunRequest(db: Db, id: number, canSeeProject: (projectId: string) => boolean): Promise<RunRequest> {
  const [request] = await selectRunRequests(db, eq(runRequests.id, id));
  if (!request || !canSeeProject(request.project_id)) throw notFound(`Sorry, there is no run request ${id}.`);
  return request;
}

export interface RunRequestFilter {
  projectId: string;
  /** A hexsha or a prefix of it. */
  commit?: string;
  status?: RunRequestStatus;
  limit: number;
}

/** A project's requests, newest first. */
export function listRunRequests(db: Db, filter: RunRequestFilter): Promise<RunRequest[]> {
  const conditions = [eq(runRequests.project_id, filter.projectId)];
  if (filter.commit) conditions.push(sql`starts_with(${ciCommits.hexsha}, ${filter.commit.toLowerCase()})`);
  if (filter.status) conditions.push(eq(runRequests.status, filter.status));
  return selectRunRequests(db, and(...conditions), filter.limit);
}

/**
 * Cancels a request that has not ended (cancelling a cancelled one changes nothing). The caller
 * cancels its pipeline, if it has one, through the run-request queue.
 */
export async function cancelRunRequest(db: Db, id: number, canSeeProject: (projectId: string) => boolean): Promise<RunRequest> {
  const request = await readRunRequest(db, id, canSeeProject);
  if (request.status === 'done' || request.status === 'failed') throw conflict(`Run request ${id} is already ${request.status}.`);
  await db
    .update(runRequests)
    .set({ status: 'cancelled', finished_at: sql`now()`, updated_at: sql`now()` })
    .where(and(eq(runRequests.id, id), inArray(runRequests.status, ACTIVE)));
  return readRunRequest(db, id, canSeeProject);
}

/** Cancels the active requests of batches (a stop, a deletion); answers those whose pipeline must be cancelled. */
export async function cancelRunRequestsOfBatches(db: Db, batchIds: number[]): Promise<{ id: number; pipeline_id: number | null }[]> {
  if (!batchIds.length) return [];
  return queryRows(
    db,
    sql`UPDATE run_requests SET status = 'cancelled', finished_at = now(), updated_at = now()
        WHERE batch_id = ANY(${intArrayLiteral(batchIds)}::int[]) AND status IN ('queued', 'dispatched', 'running')
        RETURNING id, pipeline_id`,
  );
}

/**
 * The statement (for a CTE of an upload's statement) that moves to `running` the requests of a
 * project whose command ids `commandIds` (a subquery) carries — in the same statement as the runs
 * it writes, so the batch has pending runs whenever the request is running.
 */
export const startRunRequests = (projectId: string, commandIds: SQL): SQL =>
  sql`UPDATE run_requests SET status = 'running', started_at = now(), updated_at = now()
      WHERE command_id IN (${commandIds}) AND project_id = ${projectId} AND status IN ('queued', 'dispatched')`;

/** Whether a batch has running requests, which its completion would finish (SQL over the batch id). */
export const awaitsBatchCompletion = (batchId: SQL): SQL =>
  sql`EXISTS (SELECT 1 FROM run_requests r WHERE r.batch_id = ${batchId} AND r.status = 'running')`;

/**
 * Reaction to completed batches: their running requests are done. (A request runs from the upload
 * of its first pending run on, so its batch completes only once that run, and those started with
 * it, have ended.)
 */
export async function finishRunRequests(db: Db, batchIds: number[]): Promise<void> {
  await db.execute(
    sql`UPDATE run_requests SET status = 'done', finished_at = now(), updated_at = now()
        WHERE batch_id = ANY(${intArrayLiteral(batchIds)}::int[]) AND status = 'running'`,
  );
}

/**
 * Records the pipeline a dispatch created. Uploads may already have moved the request to
 * `running`; false when it was cancelled meanwhile (the caller then cancels the pipeline).
 */
export async function recordPipeline(db: Db, id: number, pipeline: { id: number; web_url: string }): Promise<boolean> {
  const rows = await db
    .update(runRequests)
    .set({
      pipeline_id: pipeline.id,
      pipeline_url: pipeline.web_url,
      status: sql`CASE WHEN ${runRequests.status} = 'queued' THEN 'dispatched' ELSE ${runRequests.status} END`,
      dispatched_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .where(and(eq(runRequests.id, id), inArray(runRequests.status, ['queued', 'running'])))
    .returning({ id: runRequests.id });
  return rows.length > 0;
}

export async function failRunRequest(db: Db, id: number, reason: string): Promise<void> {
  await db
    .update(runRequests)
    .set({ status: 'failed', error: reason, finished_at: sql`now()`, updated_at: sql`now()` })
    .where(and(eq(runRequests.id, id), inArray(runRequests.status, ACTIVE)));
}

/** Keeps why a cancelled request's pipeline could not be cancelled (the request stays cancelled). */
export async function recordCancellationFailure(db: Db, id: number, reason: string): Promise<void> {
  await db.update(runRequests).set({ error: `The pipeline could not be cancelled: ${reason}`, updated_at: sql`now()` }).where(eq(runRequests.id, id));
}

/**
 * Requests that went silent: nothing reported for `staleAfterHours` (a pipeline that failed before
 * running `qa`, a dispatch job lost to the dead-letter queue). Part of the hourly clean-up.
 */
export async function failSilentRunRequests(db: Db, now: Date, staleAfterHours: number): Promise<number> {
  const cutoff = new Date(now.getTime() - staleAfterHours * 3_600_000).toISOString();
  const failed = await queryRows<{ id: number }>(
    db,
    sql`UPDATE run_requests r SET status = 'failed', finished_at = now(), updated_at = now(),
          error = ${`nothing was reported for more than ${staleAfterHours} hours`}
        WHERE r.status IN ('queued', 'dispatched', 'running') AND r.updated_at < ${cutoff}
          AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.batch_id = r.batch_id AND o.updated_at >= ${cutoff})
        RETURNING id`,
  );
  return failed.length;
}

/** Batches whose requests are running: the hourly clean-up checks them for completion, in case an event was missed. */
export async function batchesOfRunningRequests(db: Db): Promise<number[]> {
  const rows = await queryRows<{ batch_id: number }>(db, sql`SELECT DISTINCT batch_id FROM run_requests WHERE status = 'running' AND batch_id IS NOT NULL`);
  return rows.map((r) => r.batch_id);
}
