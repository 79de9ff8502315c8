/**
 * Parents already seen: a CI run's uploads share their commit, batches and test inputs, and all but the
 * first find them created. Finding or creating them (and answering the joins) was most of an upload
 * statement's cost in Postgres: 0.77 ms for one upload against 0.23 ms for the outputs' upsert alone, 0.94
 * against 0.33 for four (README, "Where the ingest target is missed"). So this process remembers the ids
 * of the parents it wrote, and a group whose parents it all knows is written by a statement that looks
 * them up by id instead (`knownParentsCtes`).
 *
 * What is remembered is never trusted: the statement checks that each id is still the row it was — the
 * batch of that label on that commit, the test input of that path in that project, the commit of that
 * sha in that project — and that recording the uploads would change none of them but for their
 * latest-output stamps. When a check fails (a batch renamed, deleted or moved, new metadata to record,
 * a patch that changes a batch's data…), it writes nothing and answers no row: the caller forgets the
 * commit and writes the group with the statement that finds or creates its parents. So a group written
 * either way leaves the same rows. And ids from anywhere (another database, a restore) are as safe as
 * ids from here, which lets this cache be the process's (or the Worker isolate's), not a connection's.
 */
import { sql, type SQL } from 'drizzle-orm';
import { jsonParam } from '../../db/client';
import type { Embedded } from '../../db/statement-templates';
import { latestOutputStampDue, patchChanges, recordChangesExistingCommit, recordParams, type RecordShape } from '../commits/record-commit';
import { batchPatches, inputPatches, startsRunRequests, type CommitGroup } from './commit-groups';

/**
 * Bounds of what is remembered (a few MB at most, for a Worker isolate's 128): more than the commits,
 * batches and inputs of the CI runs uploading at once. The least recently written go first.
 */
const MAX_COMMITS = 1_000;
const MAX_BATCHES_PER_COMMIT = 50;
const MAX_INPUTS = 20_000;

/** By `[project, hexsha]`: the commit's id and its batches' ids by label. */
const commits = new Map<string, { id: number; batches: Map<string, number> }>();
/** By `[project, database, path]`: the test input's id. */
const inputs = new Map<string, number>();

const commitKey = (group: CommitGroup) => JSON.stringify([group.record.projectId, group.record.hexsha]);
const inputKey = (group: CommitGroup, database: string, path: string) => JSON.stringify([group.record.projectId, database, path]);

/** Sets `key` last in a map holding at most `max` entries, dropping the first (least recently set). */
function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number) {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** What a group's statement answers about where each run was written. */
export interface WrittenParents {
  i: number;
  commitId: number;
  writtenBatchId: number;
  writtenTestInputId: number;
}

/** Remembers the parents a group's statement wrote its runs to. */
export function rememberParents(group: CommitGroup, rows: WrittenParents[]) {
  if (!rows.length) return;
  const runs = new Map(group.runs.map((run) => [run.i, run]));
  const key = commitKey(group);
  const known = commits.get(key);
  // every row of a group's statement has its commit
  const commit = known?.id === rows[0]!.commitId ? known : { id: rows[0]!.commitId, batches: new Map<string, number>() };
  setBounded(commits, key, commit, MAX_COMMITS);
  for (const row of rows) {
    const run = runs.get(row.i)!;
    setBounded(commit.batches, run.batchLabel, row.writtenBatchId, MAX_BATCHES_PER_COMMIT);
    setBounded(inputs, inputKey(group, run.database, run.path), row.writtenTestInputId, MAX_INPUTS);
  }
}

/** Forgets the group's commit and test inputs: what the process knew of them proved wrong. */
export function forgetParents(group: CommitGroup) {
  commits.delete(commitKey(group));
  for (const run of group.runs) inputs.delete(inputKey(group, run.database, run.path));
}

/**
 * The parameters of a group's known-parents CTEs: the ids remembered, the patches, and the commit's record;
 * undefined when a parent is unknown, or when a run starts a run request (that statement updates run
 * requests too).
 */
export function knownParentsParams(group: CommitGroup) {
  const commit = commits.get(commitKey(group));
  if (!commit) return undefined;
  if (startsRunRequests(group)) return undefined;
  const batches = batchPatches(group).map((patch) => ({ ...patch, id: commit.batches.get(patch.label) }));
  const testInputs = inputPatches(group).map((patch) => ({ ...patch, id: inputs.get(inputKey(group, patch.database, patch.path)) }));
  if (batches.some((b) => b.id === undefined) || testInputs.some((t) => t.id === undefined)) return undefined;
  return {
    ...recordParams(group.record),
    commitId: commit.id,
    hexsha: group.record.hexsha,
    projectId: group.record.projectId,
    batches: jsonParam(batches),
    batchCount: batches.length,
    testInputs: jsonParam(testInputs),
    testInputCount: testInputs.length,
  };
}
export type KnownParentsParams = NonNullable<ReturnType<typeof knownParentsParams>>;

/**
 * The CTEs `project`, `commit`, `batch` and `test_input` of a group's statement (as ingest-outputs.ts
 * names them), looked up by the ids remembered (`knownParentsParams`, embedded as `k`; `shape`: the
 * commit record's). Empty, and nothing stamped, unless every parent is still what it was and the uploads
 * change none.
 */
export function knownParentsCtes(k: Embedded<KnownParentsParams>, shape: RecordShape): SQL {
  const allKnown = sql`(SELECT known FROM all_known)`;
  return sql`known_commit AS (
      SELECT p.id AS project_id, p.data AS project_data, c.id, c.hexsha, c.data, c.commit_dir_override
      FROM ci_commits c JOIN projects p ON p.id = c.project_id
      WHERE c.id = ${k.commitId} AND c.hexsha = ${k.hexsha} AND p.id = ${k.projectId}
        AND NOT ${recordChangesExistingCommit(k, shape)}
    ),
    batch_patch AS (SELECT * FROM jsonb_to_recordset(${k.batches}::jsonb) AS x(id int, label text, data jsonb)),
    -- Parents are looked up by id, one probe each (OFFSET 0 keeps the planner from hashing every input of the
    -- project instead). Their checks are columns, counted by all_known, not filters: filtered, a parent CTE
    -- would be guessed one row, and the runs joined to it in nested loops (~1,000,000 comparisons for 1,000 runs).
    known_batch AS (
      SELECT b.id, b.label, b.batch_dir_override,
        b.ci_commit_id = k.id AND b.label = x.label AND NOT ${patchChanges(sql`b.data`, sql`x.data`)} AS unchanged
      FROM batch_patch x CROSS JOIN known_commit k CROSS JOIN LATERAL (SELECT * FROM batches b WHERE b.id = x.id OFFSET 0) b
    ),
    input_patch AS (SELECT * FROM jsonb_to_recordset(${k.testInputs}::jsonb) AS x(id int, database text, path text, data jsonb)),
    known_input AS (
      SELECT t.id, t.database, t.path, t.data,
        t.project_id = k.project_id AND t.database = x.database AND t.path = x.path AND NOT ${patchChanges(sql`t.data`, sql`x.data`)} AS unchanged
      FROM input_patch x CROSS JOIN known_commit k CROSS JOIN LATERAL (SELECT * FROM test_inputs t WHERE t.id = x.id OFFSET 0) t
    ),
    all_known AS (
      SELECT (SELECT count(*) FILTER (WHERE unchanged) FROM known_batch) = ${k.batchCount}
        AND (SELECT count(*) FILTER (WHERE unchanged) FROM known_input) = ${k.testInputCount} AS known
    ),
    project AS (SELECT project_id AS id, project_data AS data FROM known_commit WHERE ${allKnown}),
    commit AS (SELECT id, hexsha, data, commit_dir_override, false AS created FROM known_commit WHERE ${allKnown}),
    batch AS (SELECT id, label, batch_dir_override FROM known_batch WHERE ${allKnown}),
    test_input AS (SELECT id, database, path, data FROM known_input WHERE ${allKnown}),
    project_stamp AS (UPDATE projects p SET latest_output_datetime = now() FROM project k WHERE p.id = k.id AND ${latestOutputStampDue(sql`p`)}),
    commit_stamp AS (UPDATE ci_commits c SET latest_output_datetime = now() FROM commit k WHERE c.id = k.id AND ${latestOutputStampDue(sql`c`)})`;
}
