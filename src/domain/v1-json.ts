/**
 * Commits, batches and outputs as the v1 API shows them (the web app and the qa CLI read these
 * field names), built from the rows of domain/rows.ts, with the URLs of their folders.
 */
import { artifactKeys, artifactUrl, batchDir, commitLocations, configuredStorageMode, defaultOutputDir, dirToUrl, type StorageMode } from './storage-locations';
import type { BatchRow, CommitRow, OutputInContextRow, OutputRow } from './rows';
import { isoUtc } from '../db/select-columns';

/** Where an output's files are: its folder on the shared disk (`batchDirectory`), or its R2 prefix under its commit's. */
export type OutputLocation = { mode: 'shared-disk'; batchDirectory: () => string } | { mode: 'r2'; batchKey: string };

/** What locating an output's folder reads of it. */
export type OutputPlace = Pick<OutputRow, 'id' | 'outputDirOverride' | 'platform' | 'configurations' | 'extraParameters' | 'testInputPath'>;

export function outputDirUrl(row: OutputPlace, location: OutputLocation) {
  if (location.mode === 'r2') return artifactUrl(`${location.batchKey}/${row.id}`);
  const outputDir =
    row.outputDirOverride ??
    defaultOutputDir(location.batchDirectory(), {
      platform: row.platform,
      configurations: row.configurations,
      extraParameters: row.extraParameters,
      testInputPath: row.testInputPath,
    });
  return dirToUrl(outputDir);
}

export function outputJson(row: OutputRow, location: OutputLocation) {
  return {
    id: row.id,
    output_type: row.outputType,
    platform: row.platform,
    configurations: row.configurations,
    extra_parameters: row.extraParameters,
    metrics: row.metrics,
    is_failed: row.isFailed,
    is_pending: row.isPending,
    is_running: row.isRunning,
    data: row.data,
    deleted: row.deleted,
    created_date: row.createdDate,
    output_dir_url: outputDirUrl(row, location),
    test_input_database: row.testInputDatabase,
    test_input_path: row.testInputPath,
    test_input_metadata: row.testInputMetadata ?? {},
  };
}
export type OutputJson = ReturnType<typeof outputJson>;

/** SQL: a text literal. */
const textLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * SQL: the text `<before>"name":value,…<after>` for `[name, value]` pairs, each value an expression
 * of type text holding a JSON value, never NULL. One `||` chain with the names merged into the
 * literals around them: `concat()` looks up the output function of each of its ~45 arguments on
 * every row, which cost a 5,000-output read ~5 ms of Postgres's time.
 */
const jsonMembersSql = (before: string, members: [string, string][], after: string) =>
  members.map(([name, value], i) => `${textLiteral(`${i ? ',' : before}${JSON.stringify(name)}:`)} || ${value}`).join(' || ') + ` || ${textLiteral(after)}`;

/** SQL: a boolean column as JSON text (`boolean::text` would call its output function, for t/f). */
const jsonBoolean = (column: string) => `CASE WHEN ${column} THEN 'true' ELSE 'false' END`;

/**
 * `outputJson` as Postgres writes it, from `outputs o` and `test_inputs t`: the text before and after
 * `output_dir_url` (which JS computes, see `outputDirUrl`). Large commits are then sent as Postgres
 * wrote them, without parsing the outputs' JSONB columns into objects and serialising them back
 * (most of a 5,000-output read's CPU and garbage). Same members in the same order as `outputJson`
 * (test/reads.test.ts compares the two).
 */
export const OUTPUT_JSON_SQL = {
  head: jsonMembersSql('{', [
    ['id', 'o.id::text'],
    ['output_type', 'to_json(o.output_type)::text'],
    ['platform', 'to_json(o.platform)::text'],
    ['configurations', 'o.configurations::text'],
    ['extra_parameters', 'o.extra_parameters::text'],
    ['metrics', 'o.metrics::text'],
    ['is_failed', jsonBoolean('o.is_failed')],
    ['is_pending', jsonBoolean('o.is_pending')],
    ['is_running', jsonBoolean('o.is_running')],
    ['data', 'o.data::text'],
    ['deleted', jsonBoolean('o.deleted')],
    // Its text needs no escaping.
    ['created_date', `'"' || ${isoUtc('o.created_date')} || '"'`],
  ], ',"output_dir_url":'),
  tail: jsonMembersSql(',', [
    ['test_input_database', 'to_json(t.database)::text'],
    ['test_input_path', 'to_json(t.path)::text'],
    ['test_input_metadata', `COALESCE(NULLIF(t.data -> 'metadata', 'null'::jsonb), '{}'::jsonb)::text`],
  ], '}'),
};

/** Where the `RawJson` texts met by the `stringifyWithRawJson` under way go (it is synchronous). */
let rawTexts: string[] | undefined;

/** A value JSON text Postgres wrote stands for, inside an object `stringifyWithRawJson` serialises. */
export class RawJson {
  constructor(readonly text: string) {}

  /** Its placeholder: a string starting with U+0000, which no stored text can hold (Postgres refuses NUL in text and JSONB). */
  toJSON(): string {
    if (!rawTexts) throw new Error('RawJson is serialised by stringifyWithRawJson only');
    return `\u0000${rawTexts.push(this.text) - 1}`;
  }
}

/**
 * `JSON.stringify` with each `RawJson` written as its text: its placeholder's escaped form
 * `"\u0000<n>"` can't come from data. (toJSON rather than a replacer, which would be called on
 * every member of the skeleton.)
 */
export function stringifyWithRawJson(value: unknown): string {
  const raw: string[] = [];
  rawTexts = raw;
  let skeleton: string;
  try {
    skeleton = JSON.stringify(value);
  } finally {
    rawTexts = undefined;
  }
  return raw.length ? skeleton.replace(/"\\u0000(\d+)"/g, (_match, i: string) => raw[Number(i)]!) : skeleton;
}

export function outputInContextJson(row: OutputInContextRow, defaultStorage: StorageMode = 'shared-disk'): OutputJson {
  if ((row.storageMode ?? defaultStorage) === 'r2') return outputJson(row, { mode: 'r2', batchKey: artifactKeys.batch(row.projectId, row.hexsha, row.batchId) });
  return outputJson(row, {
    mode: 'shared-disk',
    batchDirectory: () => {
      const { outputsDir } = commitLocations(
        { id: row.projectId, data: row.projectData ?? {} },
        { hexsha: row.hexsha, data: row.commitData ?? {}, commitDirOverride: row.commitDirOverride },
      );
      return batchDir(outputsDir, { label: row.batchLabel, batchDirOverride: row.batchDirOverride });
    },
  });
}

/** Per-batch output counts and aggregated metrics, computed in SQL (see read/commit-details.ts). */
export interface BatchSummary {
  valid_outputs: number;
  pending_outputs: number;
  running_outputs: number;
  failed_outputs: number;
  deleted_outputs: number;
  aggregated_metrics: Record<string, number>;
}

/** An output of a commit read: its place, and its JSON text around `output_dir_url` (OUTPUT_JSON_SQL). */
export type OutputOfBatch = OutputPlace & { batchId: number; head: string; tail: string };

/**
 * Where a commit's files are: its folders (`locations`), whether they are in R2, and where the files of
 * each of its batches' outputs are. Derived once per commit, for all its batches.
 */
function commitPlaces(commit: CommitRow, defaultStorage: StorageMode) {
  const locations = commitLocations(
    { id: commit.projectId, data: commit.projectData },
    { hexsha: commit.hexsha, data: commit.commitData, commitDirOverride: commit.commitDirOverride },
  );
  const inR2 = (configuredStorageMode(commit.projectData, commit.commitData) ?? defaultStorage) === 'r2';
  const outputLocation = (batch: BatchRow): OutputLocation =>
    inR2
      ? { mode: 'r2', batchKey: artifactKeys.batch(commit.projectId, commit.hexsha, batch.id) }
      : { mode: 'shared-disk', batchDirectory: () => batchDir(locations.outputsDir, { label: batch.label, batchDirOverride: batch.batchDirOverride }) };
  return { locations, inR2, outputLocation };
}

/** Where the files of the outputs of each batch of `commit` are. */
export const outputLocations = (commit: CommitRow, defaultStorage: StorageMode = 'shared-disk') => commitPlaces(commit, defaultStorage).outputLocation;

/** The URL of a batch's folder. */
const batchDirUrl = (location: OutputLocation) => (location.mode === 'r2' ? artifactUrl(location.batchKey) : dirToUrl(location.batchDirectory()));

/** A name for a location: two batches' outputs are shown alike exactly when their locations' names are equal. */
export const locationName = (location: OutputLocation) => (location.mode === 'r2' ? `r2:${location.batchKey}` : `disk:${location.batchDirectory()}`);

/** The `outputs` of a batch in a commit's JSON: `{"<id>": output, ...}`, in the order given. */
export const outputsText = (outputs: OutputOfBatch[], location: OutputLocation) =>
  `{${outputs.map((o) => `"${o.id}":${o.head}${JSON.stringify(outputDirUrl(o, location))}${o.tail}`).join(',')}}`;

/** A batch of a commit, as `commitJson` shows it: `outputs` gives its `outputsText`, for where its files are, when shown. */
export interface BatchOfCommit {
  row: BatchRow;
  summary: BatchSummary;
  outputs?: (location: OutputLocation) => string;
}

export function commitJson(commit: CommitRow, batches: BatchOfCommit[], defaultStorage: StorageMode = 'shared-disk') {
  const { locations, inR2, outputLocation } = commitPlaces(commit, defaultStorage);
  const artifactsUrl = inR2 ? artifactUrl(artifactKeys.commitArtifacts(commit.projectId, commit.hexsha)) : undefined;
  return {
    id: commit.hexsha,
    branch: commit.branch?.replace(/^origin\//, '') ?? null,
    message: commit.message ?? '<NA>',
    committer_name: commit.committerName ?? 'unknown',
    // The author's GitLab avatar when the GitLab integration found one; "" makes the web app draw initials.
    committer_avatar_url: commit.committerAvatarUrl ?? '',
    authored_datetime: commit.authoredDatetime,
    authored_date: commit.authoredDate,
    latest_output_datetime: commit.latestOutputDatetime,
    deleted: commit.deleted,
    data: commit.commitData,
    outputs_url: inR2 ? artifactUrl(artifactKeys.commit(commit.projectId, commit.hexsha)) : dirToUrl(locations.outputsDir),
    artifacts_url: artifactsUrl ?? dirToUrl(locations.artifactsDir),
    repo_artifacts_url: artifactsUrl ?? dirToUrl(locations.repoArtifactsDir),
    batches: Object.fromEntries(
      batches.map(({ row, summary, outputs }) => {
        const location = outputLocation(row);
        const batch = {
          id: row.id,
          commit_id: commit.hexsha,
          label: row.label,
          created_date: row.createdDate,
          data: row.data,
          batch_dir_url: batchDirUrl(location),
          ...summary,
          ...(outputs && { outputs: new RawJson(outputs(location)) }),
        };
        return [row.label, batch];
      }),
    ),
  };
}
export type CommitJson = ReturnType<typeof commitJson>;
