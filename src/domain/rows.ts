/**
 * Rows read with raw SQL, and the SQL that selects them: each type picks the properties of its
 * Drizzle table, and its column list is generated from the same properties (db/select-columns.ts).
 * Only values computed in SQL (formatted dates, joined names) are typed here.
 */
import { sql } from 'drizzle-orm';
import { columnsOf } from '../db/select-columns';
import type { StorageMode } from './storage-locations';
import { batches, ciCommits, outputs, type projects, type testInputs } from '../db/schema';

type Json = Record<string, unknown>;
type Project = typeof projects.$inferSelect;
type Commit = typeof ciCommits.$inferSelect;
type Batch = typeof batches.$inferSelect;
type Output = typeof outputs.$inferSelect;
type TestInput = typeof testInputs.$inferSelect;

const COMMIT_PROPERTIES = ['hexsha', 'branch', 'message', 'committerName', 'committerAvatarUrl', 'authoredDatetime', 'latestOutputDatetime', 'deleted', 'commitDirOverride'] as const;

/** A commit with its project, from `ci_commits c` joined with `projects p`. */
export type CommitRow = Pick<Commit, (typeof COMMIT_PROPERTIES)[number]> & {
  commitId: Commit['id'];
  commitData: Commit['data'];
  projectId: Project['id'];
  projectData: Project['data'];
  /** `YYYY-MM-DD` (UTC). */
  authoredDate: string;
};

export const commitColumns = sql.raw(`${columnsOf('c', ciCommits, COMMIT_PROPERTIES)},
  c.id AS "commitId", c.data AS "commitData", p.id AS "projectId", p.data AS "projectData",
  to_char(c.authored_datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS "authoredDate"`);

const BATCH_PROPERTIES = ['id', 'ciCommitId', 'label', 'createdDate', 'data', 'batchDirOverride'] as const;

/** A batch, from `batches b`. */
export type BatchRow = Pick<Batch, (typeof BATCH_PROPERTIES)[number]>;

export const batchColumns = sql.raw(columnsOf('b', batches, BATCH_PROPERTIES));

const OUTPUT_PROPERTIES = [
  'id', 'batchId', 'outputType', 'platform', 'configurations', 'extraParameters', 'metrics',
  'isFailed', 'isPending', 'isRunning', 'data', 'deleted', 'createdDate', 'outputDirOverride',
] as const;

/** An output and its test input, from `outputs o` (or a CTE of the same columns) and `test_inputs t`. */
export type OutputRow = Pick<Output, (typeof OUTPUT_PROPERTIES)[number]> & {
  testInputDatabase: TestInput['database'];
  testInputPath: TestInput['path'];
  testInputMetadata: Json | null;
};

export const outputColumns = sql.raw(`${columnsOf('o', outputs, OUTPUT_PROPERTIES)},
  t.database AS "testInputDatabase", t.path AS "testInputPath", t.data -> 'metadata' AS "testInputMetadata"`);

/** An output with what locating its folder needs: its batch, commit and project. */
export type OutputInContextRow = OutputRow & {
  projectId: Project['id'];
  hexsha: Commit['hexsha'];
  commitDirOverride: Commit['commitDirOverride'];
  batchLabel: Batch['label'];
  batchDirOverride: Batch['batchDirOverride'];
  /** Only when the output's folder must be derived (configs weigh kilobytes). */
  projectData: Project['data'] | null;
  commitData: Commit['data'] | null;
  /** qaboard.yaml's `storage.mode` (the project's, else the commit's), when it says. */
  storageMode: StorageMode | null;
};

/** qaboard.yaml's `storage.mode` of `projects p`, else of `ci_commits c` (configuredStorageMode in SQL); NULL when neither says. */
export const STORAGE_MODE_SQL = `CASE WHEN p.data #>> '{qatools_config,storage,mode}' IN ('shared-disk', 'r2') THEN p.data #>> '{qatools_config,storage,mode}'
       WHEN c.data #>> '{qatools_config,storage,mode}' IN ('shared-disk', 'r2') THEN c.data #>> '{qatools_config,storage,mode}' END`;

/** Columns of an `OutputInContextRow` beyond `outputColumns`, from `batches b`, `ci_commits c`, `projects p`. */
export const outputContextColumns = sql.raw(`
  p.id AS "projectId", c.hexsha, c.commit_dir_override AS "commitDirOverride", b.label AS "batchLabel",
  b.batch_dir_override AS "batchDirOverride",
  CASE WHEN o.output_dir_override IS NULL THEN p.data END AS "projectData",
  CASE WHEN o.output_dir_override IS NULL THEN c.data END AS "commitData",
  ${STORAGE_MODE_SQL} AS "storageMode"`);
