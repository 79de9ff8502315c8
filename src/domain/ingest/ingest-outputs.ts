/**
 * `POST /api/v1/output` (and bulk ingestion): records runs. Any number of uploads of one commit are
 * written by ONE statement: get-or-create the project, commit, batches and test inputs (without
 * touching their rows when nothing changes), then upsert the outputs — one round trip, atomic, and
 * the same statement whether one upload is written or a thousand (group commit, bulk, spool replay).
 * Parents this process has written before are looked up by their ids instead (known-parents.ts).
 *
 * An output's identity is (batch, test input, platform, configurations, extra_parameters): the
 * start and end uploads of one run update the same row. Each upload carries the time it was
 * received; an output only takes an upload received after the one it holds (`updated_at`), so
 * uploads written late — replayed from a spool or a queue, in any order, more than once — can't
 * overwrite a newer state: a late "start" never reopens a finished run, a duplicate changes nothing.
 *
 * Runs of a run request (`qa batch` writes its command id in their `data.job_options`) move it to
 * `running`, in the same statement. A run that may finish its batch is answered with a
 * `completionCheck`: the caller tells the batch-completion seam once the write is committed.
 */
import { sql, type SQL } from 'drizzle-orm';
import { inTransaction, jsonParam, preparedRows, retryConflicts, retryOnConcurrentCreate, sendsBatchesTogether, writeBatch, type Db } from '../../db/client';
import { statementTemplate, type StatementTemplate } from '../../db/statement-templates';
import { completionProbe } from '../batches/batch-completion';
import { commitRecordCtes, patchChanges, recordShape, type RecordShape } from '../commits/record-commit';
import { startRunRequests } from '../run-requests/run-requests';
import { outputColumns, outputContextColumns, type OutputInContextRow } from '../rows';
import type { StorageMode } from '../storage-locations';
import { outputInContextJson, type OutputJson } from '../v1-json';
import { batchPatches, commitGroups, inputPatches, startsRunRequests, type CommitGroup, type ReceivedUpload } from './commit-groups';
import { forgetParents, knownParentsCtes, knownParentsParams, rememberParents, type KnownParentsParams, type WrittenParents } from './known-parents';
import type { Ingested } from './upload-commit';
import { nextUpdatedAt } from '../updated-at';

/**
 * The CTEs `project`, `commit`, `batch` and `test_input` of a group's statement, found or created (see
 * domain/commits/record-commit.ts), and the run requests its runs start: any group can be written so.
 */
function createdParentsCtes(group: CommitGroup): SQL {
  const { record } = group;
  // Only statements that carry a run request's command id touch run_requests.
  const startsRequests = startsRunRequests(group)
    ? sql`started_requests AS (${startRunRequests(record.projectId, sql`SELECT r.data -> 'job_options' ->> 'command_id' FROM run r`)}),`
    : sql``;
  return sql`${commitRecordCtes(record)},
    ${startsRequests}
    batch_patch AS (SELECT * FROM jsonb_to_recordset(${jsonParam(batchPatches(group))}::jsonb) AS x(label text, data jsonb)),
    new_batch AS (
      INSERT INTO batches (ci_commit_id, label, data) SELECT commit.id, x.label, x.data FROM commit, batch_patch x
      ON CONFLICT (ci_commit_id, label) DO NOTHING
      RETURNING id, label, batch_dir_override
    ),
    existing_batch AS (
      SELECT b.id, b.label, b.batch_dir_override, b.data, x.data AS patch
      FROM batch_patch x CROSS JOIN commit
      CROSS JOIN LATERAL (SELECT * FROM batches b WHERE b.ci_commit_id = commit.id AND b.label = x.label OFFSET 0) b
    ),
    -- Rows to update are named by an array of ids: an index probe each, whatever the planner guesses of the
    -- patches' count (joined to the table, it hashed every batch of the database on each upload).
    batch_update AS (
      UPDATE batches b SET data = b.data || e.patch FROM existing_batch e
      WHERE b.id = ANY (ARRAY(SELECT id FROM existing_batch WHERE ${patchChanges(sql`data`, sql`patch`)})) AND b.id = e.id
    ),
    batch AS (
      SELECT id, label, batch_dir_override FROM new_batch UNION ALL SELECT id, label, batch_dir_override FROM existing_batch
    ),
    input_patch AS (SELECT * FROM jsonb_to_recordset(${jsonParam(inputPatches(group))}::jsonb) AS x(database text, path text, data jsonb)),
    new_input AS (
      INSERT INTO test_inputs (project_id, database, path, data) SELECT project.id, x.database, x.path, x.data FROM project, input_patch x
      ON CONFLICT (project_id, database, path) DO NOTHING
      RETURNING id, database, path, data
    ),
    existing_input AS (
      SELECT t.id, t.database, t.path, t.data, x.data AS patch
      FROM input_patch x CROSS JOIN project
      CROSS JOIN LATERAL (SELECT * FROM test_inputs t WHERE t.project_id = project.id AND t.database = x.database AND t.path = x.path OFFSET 0) t
    ),
    input_update AS (
      UPDATE test_inputs t SET data = t.data || e.patch, updated_at = ${nextUpdatedAt('t.updated_at')} FROM existing_input e
      WHERE t.id = ANY (ARRAY(SELECT id FROM existing_input WHERE ${patchChanges(sql`data`, sql`patch`)})) AND t.id = e.id
      RETURNING t.id, t.database, t.path, t.data
    ),
    test_input AS (
      SELECT id, database, path, data FROM new_input
      UNION ALL SELECT id, database, path, data FROM input_update
      UNION ALL SELECT id, database, path, data FROM existing_input e WHERE NOT EXISTS (SELECT 1 FROM input_update u WHERE u.id = e.id)
    )`;
}

/** The runs of a group as its statement reads them (`jsonb_to_recordset`), as one parameter. */
function runsParam({ runs }: CommitGroup) {
  return jsonParam(
    runs.map((r) => ({
      i: r.i,
      batch_label: r.batchLabel,
      database: r.database,
      path: r.path,
      platform: r.platform,
      configurations: r.configurations,
      extra_parameters: r.extraParameters,
      output_type: r.outputType,
      data: r.data,
      output_dir: r.outputDir,
      is_running: r.isRunning,
      is_pending: r.isPending,
      is_failed: r.isFailed,
      metrics: r.metrics,
      received_at: r.receivedAt,
    })),
  );
}

/**
 * The statement writing one commit group (`runs`: its `runsParam`), its parents' CTEs given
 * (`createdParentsCtes` or known-parents.ts); it answers one row per run that found its parents.
 */
function groupStatement(runs: unknown, parentsCtes: SQL, answerColumns: SQL): SQL {
  // Spelled as the unique index `outputs_identity` is, so that finding an output is an index lookup.
  const sameOutput = sql.raw(`o.batch_id = b.id AND o.test_input_id = t.id AND o.platform = r.platform
    AND md5(o.configurations::text) = md5(r.configurations::text) AND md5(o.extra_parameters::text) = md5(r.extra_parameters::text)
    AND o.configurations = r.configurations AND o.extra_parameters = r.extra_parameters`);

  return sql`WITH run AS (
      SELECT * FROM jsonb_to_recordset(${runs}::jsonb) AS r(
        i int, batch_label text, database text, path text, platform text, configurations jsonb, extra_parameters jsonb,
        output_type text, data jsonb, output_dir text, is_running boolean, is_pending boolean, is_failed boolean,
        metrics jsonb, received_at timestamptz)
    ),
    ${parentsCtes},
    -- Parents are joined by lookups, one per run: each an index probe whatever the planner guesses of the runs' count.
    written AS (
      INSERT INTO outputs AS o (
        batch_id, test_input_id, platform, configurations, extra_parameters, output_type, data,
        output_dir_override, is_running, is_pending, is_failed, metrics, updated_at
      )
      SELECT b.id, t.id, r.platform, r.configurations, r.extra_parameters, r.output_type, r.data,
        r.output_dir, r.is_running, r.is_pending, r.is_failed, r.metrics, r.received_at
      FROM run r JOIN batch b ON b.label = r.batch_label JOIN test_input t ON t.database = r.database AND t.path = r.path
      -- one lock order for every writer: concurrent groups can't deadlock on each other's outputs
      ORDER BY b.id, t.id, r.platform, r.configurations::text, r.extra_parameters::text
      ON CONFLICT (batch_id, test_input_id, platform, md5(configurations::text), md5(extra_parameters::text)) DO UPDATE SET
        output_type = EXCLUDED.output_type,
        data = EXCLUDED.data,
        output_dir_override = COALESCE(EXCLUDED.output_dir_override, o.output_dir_override),
        is_running = EXCLUDED.is_running,
        is_pending = EXCLUDED.is_pending,
        is_failed = CASE WHEN EXCLUDED.is_pending THEN o.is_failed ELSE EXCLUDED.is_failed END,
        metrics = CASE WHEN EXCLUDED.is_pending THEN o.metrics ELSE EXCLUDED.metrics END,
        deleted = false,
        updated_at = EXCLUDED.updated_at
      WHERE EXCLUDED.updated_at > o.updated_at
      RETURNING *
    ),
    located AS (
      SELECT r.i, b.id AS batch_id, t.id AS test_input_id, r.platform, r.configurations, r.extra_parameters
      FROM run r JOIN batch b ON b.label = r.batch_label JOIN test_input t ON t.database = r.database AND t.path = r.path
    ),
    -- Materialized: joined to parents the planner guesses are one row, it would otherwise be computed again for each.
    result AS MATERIALIZED (
      -- The planner guesses 1 written row; a nested loop over them compared every run with every written
      -- row (1,000,000 comparisons, ~250 ms, for a bulk chunk). No nested loop can run a FULL JOIN: it is
      -- hashed (or merged) whatever the guess. OFFSET 0 keeps the outer WHERE from reducing it to an inner join.
      SELECT * FROM (
        SELECT l.i, o.* FROM located l FULL JOIN written o ON o.batch_id = l.batch_id AND o.test_input_id = l.test_input_id
          AND o.platform = l.platform AND o.configurations = l.configurations AND o.extra_parameters = l.extra_parameters
        OFFSET 0
      ) matched WHERE matched.i IS NOT NULL AND matched.id IS NOT NULL
      UNION ALL
      -- outputs that already hold a later upload are answered as they are (NOT IN: one hashed lookup, not a loop over written)
      SELECT r.i, o.* FROM run r JOIN batch b ON b.label = r.batch_label JOIN test_input t ON t.database = r.database AND t.path = r.path
        JOIN outputs o ON ${sameOutput}
      WHERE o.id NOT IN (SELECT id FROM written)
    )
    SELECT o.i, c.id AS "commitId", o.batch_id AS "writtenBatchId", o.test_input_id AS "writtenTestInputId", ${answerColumns}, c.created AS "commitCreated",
      ${completionProbe(sql`o`, sql`SELECT id FROM written`, sql`p.data`)} AS "mayCompleteBatch"
    FROM result o JOIN test_input t ON t.id = o.test_input_id JOIN batch b ON b.id = o.batch_id, commit c, project p`;
}

/** What every row of a group's statement has, whatever it answers. */
type GroupRow = WrittenParents & { commitCreated: boolean; mayCompleteBatch: boolean };
type GroupRows = Array<GroupRow & Record<string, unknown>>;

/**
 * How a write answers each upload: the columns its statement returns (over the written output `o`,
 * its test input `t`, batch `b`, commit `c` and project `p`) and the answer made of them.
 */
export interface OutputAnswer<T> {
  columns: SQL;
  of(row: Record<string, unknown>): T;
}

/**
 * The output as it stands after the write, in the v1 shape: what a client waits for. Its URLs in the
 * storage mode qaboard.yaml sets, else the server's `defaultStorage`.
 */
export const outputAsWritten = (defaultStorage: StorageMode): OutputAnswer<OutputJson> => ({
  columns: sql`${outputColumns}, ${outputContextColumns}`,
  of: (row) => outputInContextJson(row as unknown as OutputInContextRow, defaultStorage),
});

/**
 * No output: for uploads acknowledged earlier with a receipt (spooled), whose answers nobody reads —
 * returning and reading every output's columns was ~15% of a bulk write's CPU, here and in Postgres.
 */
export const NO_OUTPUT: OutputAnswer<undefined> = { columns: sql`NULL AS "noOutput"`, of: () => undefined };

/**
 * The statements writing `uploads`, one per commit group, as `ingestOutputs` sends them when their parents
 * are to be found or created, or (`known`) looked up by the ids this process remembers, for groups whose
 * parents it knows: what `npm run bench:statement` times.
 */
export const ingestStatements = <T>(uploads: ReceivedUpload[], answer: OutputAnswer<T>, parents: 'created' | 'known' = 'created'): SQL[] =>
  commitGroups(uploads).map((group) => (parents === 'known' ? firstStatement(group, answer) : createdParentsStatement(group, answer)));

/** The statement a group is written by first: looking its parents up by id when this process knows them all. */
const firstStatement = <T>(group: CommitGroup, answer: OutputAnswer<T>) => knownParentsStatement(group, answer) ?? createdParentsStatement(group, answer);

/** The statement of a group whose parents are to be found or created. */
const createdParentsStatement = <T>(group: CommitGroup, answer: OutputAnswer<T>) =>
  groupStatement(runsParam(group), createdParentsCtes(group), answer.columns);

type KnownParentsStatementParams = KnownParentsParams & { runs: unknown };

/**
 * Statements of groups whose parents are known. Their text is the same for every group but for the answer
 * and the commit record's shape: compiled once for each (db/statement-templates.ts), a group only binds its values.
 */
const knownParentsTemplates = new WeakMap<OutputAnswer<unknown>, Map<string, StatementTemplate<KnownParentsStatementParams>>>();

function knownParentsTemplate<T>(answer: OutputAnswer<T>, shape: RecordShape): StatementTemplate<KnownParentsStatementParams> {
  let byShape = knownParentsTemplates.get(answer);
  if (!byShape) knownParentsTemplates.set(answer, (byShape = new Map()));
  const key = JSON.stringify(shape);
  let template = byShape.get(key);
  if (!template) {
    template = statementTemplate<KnownParentsStatementParams>((p) => groupStatement(p.runs, knownParentsCtes(p, shape), answer.columns));
    byShape.set(key, template);
  }
  return template;
}

/** The statement of a group whose parents this process knows; undefined when it doesn't know them all. */
function knownParentsStatement<T>(group: CommitGroup, answer: OutputAnswer<T>): SQL | undefined {
  const params = knownParentsParams(group);
  return params && knownParentsTemplate(answer, recordShape(group.record))({ ...params, runs: runsParam(group) });
}

/**
 * Writes the uploads (statement by statement, see `commitGroups`) and answers each one as `answer`
 * says. Run it in a transaction to make the whole set atomic, or see `ingestOutputsAtomically`.
 */
export const ingestOutputs = <T>(db: Db, uploads: ReceivedUpload[], answer: OutputAnswer<T>) =>
  writeGroups(db, commitGroups(uploads), uploads.length, answer);

/**
 * `ingestOutputs` as one atomic write. Uploads of one commit are one statement, atomic by itself:
 * no transaction, so no BEGIN and COMMIT round trips — the common case of a CI run's uploads, one
 * at a time or grouped. Several statements get a transaction; inside the caller's, a savepoint,
 * so that a refused set leaves the caller's transaction usable. A deadlock victim is written again:
 * the single statement by `retryOnConcurrentCreate`, the transaction or savepoint by `retryConflicts`.
 * Over Neon's SQL over HTTP, several statements go as one batch instead (`writeGroupsTogether`).
 */
export function ingestOutputsAtomically<T>(db: Db, uploads: ReceivedUpload[], answer: OutputAnswer<T>): Promise<Ingested<T>[]> {
  const groups = commitGroups(uploads);
  if (groups.length === 1 && !inTransaction(db)) return writeGroups(db, groups, uploads.length, answer);
  if (sendsBatchesTogether(db)) return writeGroupsTogether(db, groups, uploads.length, answer);
  return retryConflicts(() => db.transaction((tx) => writeGroups(tx, groups, uploads.length, answer)));
}

async function writeGroups<T>(db: Db, groups: CommitGroup[], count: number, answer: OutputAnswer<T>): Promise<Ingested<T>[]> {
  const answers = new Array<Ingested<T>>(count);
  for (const group of groups) answerGroup(answers, group, await writeGroup(db, group, answer), answer);
  return answers;
}

/**
 * Groups written by one request of Neon's SQL over HTTP (client.ts `writeBatch`: one transaction), not by an
 * interactive transaction, which there opens a WebSocket session of its own — a connection and a Postgres
 * session for two statements: the start and end of a run that arrive together are two groups (an output
 * is written once per statement). A group whose statement found no row for some of its runs (see
 * `writeGroup`) is written again after the batch committed, on its own: the set is atomic unless that
 * second write fails.
 */
async function writeGroupsTogether<T>(db: Db, groups: CommitGroup[], count: number, answer: OutputAnswer<T>): Promise<Ingested<T>[]> {
  const statements = groups.map((group) => firstStatement(group, answer));
  const written = (await retryConflicts(() => writeBatch(db, statements))) as GroupRows[];
  const answers = new Array<Ingested<T>>(count);
  for (const [k, group] of groups.entries()) {
    let rows = written[k]!;
    if (rows.length !== group.runs.length) {
      forgetParents(group);
      rows = await writeGroup(db, group, answer);
    }
    answerGroup(answers, group, rows, answer);
  }
  return answers;
}

/** Writes a group by its statement, the known-parents one when this process knows them all, and returns its rows. */
function writeGroup<T>(db: Db, group: CommitGroup, answer: OutputAnswer<T>): Promise<GroupRows> {
  const write = async (statement: SQL) => {
    const found: GroupRows = await preparedRows(db, statement);
    return found.length === group.runs.length ? found : undefined;
  };
  // A parent created at the same moment by another transaction hides from this statement's
  // snapshot: its runs get no row, and the (idempotent) statement runs again.
  return retryOnConcurrentCreate(db, async () => {
    const known = knownParentsStatement(group, answer);
    if (known) {
      const found = await write(known);
      if (found) return found;
      // A parent is no longer what was remembered, or the uploads change one: nothing was written,
      // unless a concurrent write hid an output (then writing again changes nothing).
      forgetParents(group);
    }
    return write(createdParentsStatement(group, answer));
  });
}

/** Each upload of a written group answered, its parents remembered. */
function answerGroup<T>(answers: Ingested<T>[], group: CommitGroup, rows: GroupRows, answer: OutputAnswer<T>) {
  rememberParents(group, rows);
  // Every row of the statement that created the commit says so: one upload is answered as having
  // created it (one GitLab backfill, not one per upload of a group or chunk).
  rows.forEach((row, index) => {
    answers[row.i] = { body: answer.of(row), commitCreated: row.commitCreated && index === 0, ...(row.mayCompleteBatch && { completionCheck: row.writtenBatchId }) };
  });
}
