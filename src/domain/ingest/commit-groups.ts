/**
 * How uploads are split into statements (see ingest-outputs.ts): one commit per statement, an output at
 * most once per statement, and each parent's data patches merged in the order received.
 */
import type { CommitRecord } from '../commits/record-commit';
import { envelopeSha, type OutputUpload } from './envelope';
import { outputIdentity, outputRun, type OutputRun } from './output-run';
import { isRunRequestCommandId } from '../run-requests/run-requests';
import { uploadCommitRecord } from './upload-commit';

/** An upload as received: its receipt time orders it against other uploads of the same output. */
export interface ReceivedUpload {
  upload: OutputUpload;
  /** ISO 8601 with microseconds; strictly increasing per process (see ingestion/receipt-clock.ts). */
  receivedAt: string;
}

/** A run of a group: `i` is its upload's index among those written together. */
export type GroupRun = OutputRun & { i: number; receivedAt: string };

/** What a group of uploads of one commit writes, in order: merged patches where uploads share a parent. */
export interface CommitGroup {
  record: CommitRecord;
  runs: GroupRun[];
}

/**
 * Splits uploads into statements: one commit per statement (its record comes from the first
 * upload, later ones only fill gaps — as if written one after the other), and an output at most
 * once per statement (Postgres can't upsert a row twice in one statement: the next upload of the
 * same output goes to the next group, which runs after). An upload never goes to an earlier group
 * of its commit than the one before it did: its batch's and test input's patches then apply after
 * theirs, in the order received.
 */
export function commitGroups(uploads: ReceivedUpload[]): CommitGroup[] {
  const groups: (CommitGroup & { key: string; identities: Set<string> })[] = [];
  /** Per commit, the group its last upload went to. */
  const lastGroup = new Map<string, number>();
  uploads.forEach(({ upload, receivedAt }, i) => {
    const hexsha = envelopeSha(upload)!;
    const key = JSON.stringify([upload.project, hexsha]);
    const run: GroupRun = Object.assign(outputRun(upload), { i, receivedAt });
    const identity = outputIdentity(upload, run);
    const from = lastGroup.get(key) ?? 0;
    const index = groups.findIndex((g, k) => k >= from && g.key === key && !g.identities.has(identity));
    const group = groups[index];
    if (group) {
      group.record = fillGaps(group.record, uploadCommitRecord(upload, hexsha, { touchLatestOutput: true }));
      group.runs.push(run);
      group.identities.add(identity);
      lastGroup.set(key, index);
    } else {
      groups.push({ key, identities: new Set([identity]), record: uploadCommitRecord(upload, hexsha, { touchLatestOutput: true }), runs: [run] });
      lastGroup.set(key, groups.length - 1);
    }
  });
  return groups;
}

/**
 * The record uploads written one after the other would leave: the first's values, gaps filled by later
 * ones. Copied only when a gap is filled: a CI run's uploads carry the same envelope, and have none.
 */
function fillGaps<T extends object>(first: T, later: T): T {
  let merged: T | undefined;
  for (const key of Object.keys(later) as (keyof T)[]) {
    const value = later[key];
    if ((first[key] === null || first[key] === undefined) && value !== null && value !== undefined) (merged ??= { ...first })[key] = value;
  }
  return merged ?? first;
}

/** Patches of the same parent merged in upload order, as successive `data || patch` updates would. */
function mergedPatches<T>(runs: T[], keyOf: (run: T) => string, patchOf: (run: T) => Record<string, unknown>) {
  const merged = new Map<string, { run: T; patch: Record<string, unknown> }>();
  for (const run of runs) {
    const entry = merged.get(keyOf(run));
    if (entry) Object.assign(entry.patch, patchOf(run));
    else merged.set(keyOf(run), { run, patch: { ...patchOf(run) } });
  }
  return [...merged.values()];
}

/** The group's batches, each with the patch of its data. */
export const batchPatches = ({ runs }: CommitGroup) => mergedPatches(runs, (r) => r.batchLabel, (r) => r.batchData).map(({ run, patch }) => ({ label: run.batchLabel, data: patch }));

/** The group's test inputs, each with the patch of its data. */
export const inputPatches = ({ runs }: CommitGroup) =>
  mergedPatches(runs, (r) => JSON.stringify([r.database, r.path]), (r) => r.inputData).map(({ run, patch }) => ({ database: run.database, path: run.path, data: patch }));

/** Whether a run of the group belongs to a run request (`qa batch` writes its command id in `data.job_options`). */
export const startsRunRequests = ({ runs }: CommitGroup) =>
  runs.some((r) => isRunRequestCommandId((r.data.job_options as Record<string, unknown> | undefined)?.command_id));
