/**
 * Commits as the v1 API shows them: with their batches, each batch's output counts and aggregated
 * metrics (computed in SQL), and optionally every output. Loads any number of commits with a
 * handful of queries, whatever their number, sent together (db/client.ts `readBatch`): one request
 * over Neon's HTTP.
 */
import { sql, type SQL } from 'drizzle-orm';
import { intArrayLiteral, preparedRows, readBatch, sendsBatchesTogether, type Db } from '../../db/client';
import type { VersionedTexts } from '../../lib/versioned-texts';
import { batchColumns, type BatchRow, type CommitRow } from '../rows';
import type { StorageMode } from '../storage-locations';
import {
  commitJson,
  locationName,
  OUTPUT_JSON_SQL,
  outputLocations,
  outputsText,
  type BatchOfCommit,
  type BatchSummary,
  type CommitJson,
  type OutputLocation,
  type OutputOfBatch,
} from '../v1-json';
import { updatedAtSum } from '../updated-at';
import { aggregatedMetrics, cachedAggregatesOf, definedMetricNames, OUTPUTS_FINGERPRINT, type MetricAggregate } from './metric-aggregates';

export interface CommitDetailsOptions {
  /** Only this batch (all batches when absent). */
  batchLabel?: string;
  /** Metric names to aggregate (median and average over valid outputs). */
  metrics: string[];
  withOutputs: boolean;
  /** Where files are when a project's qaboard.yaml doesn't say (the server's `FILES_STORAGE`). */
  defaultStorage?: StorageMode;
  /** The outputs' texts of batches read before, by batch id (see `detailsWithKeptOutputs`). */
  keptOutputs?: VersionedTexts;
}

const OUTPUT_HEAD = sql.raw(OUTPUT_JSON_SQL.head);
const OUTPUT_TAIL = sql.raw(OUTPUT_JSON_SQL.tail);

type BatchCountsRow = BatchRow &
  Omit<BatchSummary, 'aggregated_metrics'> & {
    cached: MetricAggregate[] | null;
    outputs_fingerprint: string;
    /** With `inputsFingerprint` only. */
    inputs_fingerprint?: string;
  };

/** SQL: the batches `b` of the commits `commitIds` (an int[] expression) shown, of `batchLabel` when given. */
const batchesOf = (commitIds: SQL, batchLabel: string | undefined) =>
  sql`b.ci_commit_id = ANY(${commitIds}) ${batchLabel === undefined ? sql`` : sql`AND b.label = ${batchLabel}`}`;

/**
 * SQL: the fingerprint of the test inputs of the outputs of batch `b`: the sum of their `updated_at`,
 * which every change of one moves (domain/updated-at.ts). What the outputs' fingerprint doesn't
 * cover of their JSON: each shows its test input's metadata.
 */
const INPUTS_FINGERPRINT = sql`CROSS JOIN LATERAL (
  SELECT (${sql.raw(updatedAtSum('t.updated_at'))})::text AS inputs_fingerprint
  FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id WHERE o.batch_id = b.id) i`;

/**
 * The batches of the commits, each with its output counts and aggregated metrics, in one statement:
 * the counts and the outputs' fingerprint from the `outputs_batch_summary` index (an index-only
 * scan), and the cached aggregates of `metrics` still exact for that fingerprint; with
 * `inputsFingerprint`, that of their test inputs too.
 * The outputs are read per batch (LATERAL), by index whatever the planner thinks of the batches'
 * sizes: a join over a million outputs was planned as a sequential scan.
 */
const batchSummariesQuery = (commitIds: SQL, metrics: string[], batchLabel: string | undefined, inputsFingerprint = false) =>
  sql`SELECT s.*, ${metrics.length ? cachedAggregatesOf(metrics) : sql`NULL`} AS cached
    FROM (
      SELECT ${batchColumns}, b.created_date AS created_order, o.* ${inputsFingerprint ? sql`, i.inputs_fingerprint` : sql``}
      FROM batches b CROSS JOIN LATERAL (
        SELECT
          count(*) FILTER (WHERE NOT o.is_failed AND NOT o.is_pending)::int AS valid_outputs,
          count(*) FILTER (WHERE o.is_pending)::int AS pending_outputs,
          count(*) FILTER (WHERE o.is_running)::int AS running_outputs,
          count(*) FILTER (WHERE o.is_failed)::int AS failed_outputs,
          count(*) FILTER (WHERE o.deleted)::int AS deleted_outputs,
          ${OUTPUTS_FINGERPRINT} AS outputs_fingerprint
        FROM outputs o WHERE o.batch_id = b.id) o
      ${inputsFingerprint ? INPUTS_FINGERPRINT : sql``}
      WHERE ${batchesOf(commitIds, batchLabel)}) s
    ORDER BY s.created_order, s.id`;

/** SQL: the ids of the batches of `commitIds` shown, as an int[] (an InitPlan: the outputs are then found by index, as from a list of ids). */
const batchIdsOf = (commitIds: SQL, batchLabel: string | undefined) => sql`ARRAY(SELECT b.id FROM batches b WHERE ${batchesOf(commitIds, batchLabel)})`;

/** The outputs of the batches `batchIds` (an int[] expression), their JSON written by Postgres (OUTPUT_JSON_SQL), in id order. */
const outputsQuery = (batchIds: SQL) =>
  // What `outputDirUrl` derives a folder from, only when it must (an output without a folder of its own).
  sql`SELECT o.id, o.batch_id AS "batchId", o.output_dir_override AS "outputDirOverride",
      ${OUTPUT_HEAD} AS head, ${OUTPUT_TAIL} AS tail,
      CASE WHEN o.output_dir_override IS NULL THEN o.platform END AS platform,
      CASE WHEN o.output_dir_override IS NULL THEN o.configurations END AS configurations,
      CASE WHEN o.output_dir_override IS NULL THEN o.extra_parameters END AS "extraParameters",
      CASE WHEN o.output_dir_override IS NULL THEN t.path END AS "testInputPath"
    FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id
    WHERE o.batch_id = ANY(${batchIds})
    ORDER BY o.id`;

/**
 * The statements that read the details of the commits `commitIds` (an int[] expression, which may
 * itself find them), independent of each other: sent together with `readBatch`, and given back to
 * `assembleDetails` with the commits.
 */
export const detailsQueries = (commitIds: SQL, options: CommitDetailsOptions) => {
  const summaries = batchSummariesQuery(commitIds, options.metrics, options.batchLabel);
  return options.withOutputs ? [summaries, outputsQuery(batchIdsOf(commitIds, options.batchLabel))] : [summaries];
};

/** Outputs read together, by batch. */
function outputsByBatch(outputs: OutputOfBatch[]): Map<number, OutputOfBatch[]> {
  const byBatch = new Map<number, OutputOfBatch[]>();
  for (const output of outputs) {
    const ofBatch = byBatch.get(output.batchId);
    if (ofBatch) ofBatch.push(output);
    else byBatch.set(output.batchId, [output]);
  }
  return byBatch;
}

/**
 * The commits' JSON from their batches' summaries, with each batch's `outputs` text when `outputsOf`
 * gives one (for where the batch's files are); metrics missing from the aggregate cache are computed
 * (and stored, see `aggregatedMetrics`) now.
 */
async function commitsJson(
  db: Db,
  commits: CommitRow[],
  rows: BatchCountsRow[],
  options: CommitDetailsOptions,
  outputsOf?: (row: BatchCountsRow) => (location: OutputLocation) => string,
): Promise<CommitJson[]> {
  // Every commit shown together belongs to one project.
  const defined = definedMetricNames(commits[0]!.projectData);
  const aggregates = await aggregatedMetrics(
    db,
    rows.map((row) => ({ id: row.id, found: row.cached ?? [] })),
    options.metrics,
    defined,
  );
  const commitsById = new Map(commits.map((commit) => [commit.commitId, commit]));
  const batchesOfCommit = new Map<number, BatchOfCommit[]>(commits.map((c) => [c.commitId, []]));
  for (const row of rows) {
    const commit = commitsById.get(row.ciCommitId);
    if (!commit) continue;
    const { valid_outputs, pending_outputs, running_outputs, failed_outputs, deleted_outputs } = row;
    const summary: BatchSummary = { valid_outputs, pending_outputs, running_outputs, failed_outputs, deleted_outputs, aggregated_metrics: aggregates.get(row.id)! };
    batchesOfCommit.get(commit.commitId)!.push({ row, summary, outputs: outputsOf?.(row) });
  }
  return commits.map((commit) => commitJson(commit, batchesOfCommit.get(commit.commitId)!, options.defaultStorage));
}

/** The commits' JSON from what `detailsQueries` read. */
export async function assembleDetails(
  db: Db,
  commits: CommitRow[],
  [summaries, outputs]: unknown[][],
  options: CommitDetailsOptions,
): Promise<CommitJson[]> {
  if (!commits.length) return [];
  if (!options.withOutputs) return commitsJson(db, commits, summaries as BatchCountsRow[], options);
  // Outside Neon's HTTP batch the statements may see different snapshots: what belongs to a commit not shown is left out.
  const byBatch = outputsByBatch((outputs ?? []) as OutputOfBatch[]);
  return commitsJson(db, commits, summaries as BatchCountsRow[], options, (row) => (location) => outputsText(byBatch.get(row.id) ?? [], location));
}

/** Where the files of each commit's batches' outputs are, by commit id. */
type OutputLocators = Map<number, (batch: BatchRow) => OutputLocation>;

/** A batch shown: where its outputs' files are, and the version of its outputs' text. */
interface VersionedBatch {
  id: number;
  location: OutputLocation;
  version: string;
}

/** The batches of `rows` shown (those of the commits located), with their versions. */
function versionedBatches(rows: BatchCountsRow[], locators: OutputLocators): VersionedBatch[] {
  return rows.flatMap((row) => {
    const locate = locators.get(row.ciCommitId);
    if (!locate) return [];
    const location = locate(row);
    return [{ id: row.id, location, version: `${row.outputs_fingerprint}|${row.inputs_fingerprint}|${locationName(location)}` }];
  });
}

/** The texts kept for the batches of `rows` whose version still holds, and the batches whose doesn't. */
function keptTexts(rows: BatchCountsRow[], locators: OutputLocators, kept: VersionedTexts) {
  const texts = new Map<number, string>();
  const stale: VersionedBatch[] = [];
  for (const batch of versionedBatches(rows, locators)) {
    const text = kept.get(String(batch.id), batch.version);
    if (text === undefined) stale.push(batch);
    else texts.set(batch.id, text);
  }
  return { texts, stale };
}

/** What a read of versions and texts in one snapshot found: every batch's summary, and its outputs' text. */
interface Reread {
  rows: BatchCountsRow[];
  texts: Map<number, string>;
}

/** Keeps the texts of `stale` from `outputs` (read in the snapshot their versions were), and adds them to `texts`. */
function keepTexts(stale: VersionedBatch[], outputs: OutputOfBatch[], texts: Map<number, string>, kept: VersionedTexts) {
  const byBatch = outputsByBatch(outputs);
  for (const { id, location, version } of stale) {
    const text = outputsText(byBatch.get(id) ?? [], location);
    kept.set(String(id), version, text);
    texts.set(id, text);
  }
}

/** The summaries again, and the outputs of the batches then stale, in one interactive read-only REPEATABLE READ transaction. */
const rereadStale = (db: Db, summaries: SQL, locators: OutputLocators, kept: VersionedTexts): Promise<Reread> =>
  db.transaction(
    async (snapshot) => {
      const rows = await preparedRows<BatchCountsRow>(snapshot, summaries);
      const { texts, stale } = keptTexts(rows, locators, kept);
      if (stale.length) keepTexts(stale, await preparedRows<OutputOfBatch>(snapshot, outputsQuery(sql`${intArrayLiteral(stale.map((batch) => batch.id))}::int[]`)), texts, kept);
      return { rows, texts };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );

/**
 * Over Neon's HTTP, where a transaction whose next statement depends on the previous one's answer
 * would open a session of its own: the summaries and the outputs of every batch shown, in one request
 * (`readBatch`: one snapshot), and every batch's text kept from them.
 */
async function rereadAll(db: Db, summaries: SQL, batchIds: SQL, locators: OutputLocators, kept: VersionedTexts): Promise<Reread> {
  const [rows, outputs] = (await readBatch(db, [summaries, outputsQuery(batchIds)])) as [BatchCountsRow[], OutputOfBatch[]];
  const texts = new Map<number, string>();
  keepTexts(versionedBatches(rows, locators), outputs, texts, kept);
  return { rows, texts };
}

/** The statement reading the summaries of the batches of `commitIds` with their versions, for `commitDetails` to use kept texts. */
export const versionsQuery = (commitIds: SQL, options: CommitDetailsOptions) => batchSummariesQuery(commitIds, options.metrics, options.batchLabel, true);

/**
 * The details of commits with the outputs' texts of their batches kept from earlier reads where
 * still exact. Writing a batch's outputs is most of the time of a large commit's read (5,000
 * outputs: ~25 ms of Postgres's time and ~30 ms of the server's), and the web app reads the same
 * commits again and again, most of them finished. A batch's text is exact while its version holds:
 * the fingerprints of its outputs and of their test inputs (all of their JSON), and its location
 * (their URLs). When a version changed, the summaries are read again with the outputs of the
 * changed batches (over Neon's HTTP, of every batch shown) in one snapshot: a text read later than
 * its version could be stored under a version a later write brings back (an output added in
 * between, then deleted).
 */
async function detailsWithKeptOutputs(db: Db, commits: CommitRow[], ids: SQL, options: CommitDetailsOptions, kept: VersionedTexts, versions: BatchCountsRow[]) {
  const locators: OutputLocators = new Map(commits.map((commit) => [commit.commitId, outputLocations(commit, options.defaultStorage)]));
  let rows = versions;
  let { texts, stale } = keptTexts(rows, locators, kept);
  if (stale.length) {
    const summaries = versionsQuery(ids, options);
    ({ rows, texts } = sendsBatchesTogether(db)
      ? await rereadAll(db, summaries, batchIdsOf(ids, options.batchLabel), locators, kept)
      : await rereadStale(db, summaries, locators, kept));
  }
  // Outside the snapshot: computing aggregates the cache misses stores them.
  return commitsJson(db, commits, rows, options, (row) => () => texts.get(row.id)!);
}

/**
 * The details of commits already read: with the outputs kept when the server keeps them
 * (`detailsWithKeptOutputs`; `versions`, when the caller read them with the commits, is what
 * `versionsQuery` answered for them), else their batches' statements in one request (readBatch).
 */
export async function commitDetails(db: Db, commits: CommitRow[], options: CommitDetailsOptions, versions?: unknown[]): Promise<CommitJson[]> {
  if (!commits.length) return [];
  const ids = sql`${intArrayLiteral(commits.map((c) => c.commitId))}::int[]`;
  const kept = keptOutputsOf(options);
  if (kept) return detailsWithKeptOutputs(db, commits, ids, options, kept, (versions ?? (await preparedRows(db, versionsQuery(ids, options)))) as BatchCountsRow[]);
  return assembleDetails(db, commits, await readBatch(db, detailsQueries(ids, options)), options);
}

/** The outputs' texts kept, when the read shows outputs and the server keeps them. */
export const keptOutputsOf = (options: CommitDetailsOptions) => (options.withOutputs ? options.keptOutputs : undefined);
