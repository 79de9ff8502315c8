/**
 * Writes a set of output uploads atomically (one statement, else a transaction, or a savepoint
 * inside one: see `ingestOutputsAtomically`), and when the database refuses the set (one upload
 * breaks a rule), writes them one by one so that each upload gets its own answer or error.
 * A transient failure is no upload's fault: when a write keeps losing to concurrent transactions
 * (deadlock victims, tried again by `ingestOutputsAtomically`), or the database is unavailable, the
 * error propagates, for the caller to keep the uploads and write them later.
 */
import type { Db } from '../db/client';
import { envelopeSha } from '../domain/ingest/envelope';
import type { ReceivedUpload } from '../domain/ingest/commit-groups';
import { ingestOutputsAtomically, type OutputAnswer } from '../domain/ingest/ingest-outputs';
import type { Ingested } from '../domain/ingest/upload-commit';
import { databaseFailure } from '../lib/database-failure';

export type OutputWriteResult<T> = { written: Ingested<T>; hexsha: string } | { error: unknown };

export const isUnavailable = (error: unknown) => databaseFailure(error)?.unavailable === true;

/** Whether a write failed for no fault of its uploads: the database is unavailable, or a concurrent transaction got in the way. */
export function isTransient(error: unknown): boolean {
  const failure = databaseFailure(error);
  return failure !== undefined && (failure.unavailable || failure.conflict);
}

export async function writeOutputs<T>(db: Db, uploads: ReceivedUpload[], answer: OutputAnswer<T>): Promise<OutputWriteResult<T>[]> {
  const hexshaOf = (i: number) => envelopeSha(uploads[i]!.upload)!;
  try {
    const answers = await ingestOutputsAtomically(db, uploads, answer);
    return answers.map((written, i) => ({ written, hexsha: hexshaOf(i) }));
  } catch (error) {
    if (isTransient(error)) throw error;
    if (uploads.length === 1) return [{ error }];
  }
  const results: OutputWriteResult<T>[] = [];
  for (const [i, upload] of uploads.entries()) {
    try {
      const [written] = await ingestOutputsAtomically(db, [upload], answer);
      results.push({ written: written!, hexsha: hexshaOf(i) });
    } catch (error) {
      if (isTransient(error)) throw error;
      results.push({ error });
    }
  }
  return results;
}
