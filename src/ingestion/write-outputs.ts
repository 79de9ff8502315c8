/**
 * Writes a set of output uploads atomically (one statement, else a transaction, or a savepoint
 * inside one: see `ingestOutputsAtomically`), and when the database refuses the set (one upload
 * breaks a rule), writes them one by one so that each upload gets its own answer or error. A database that is unavailable is not an upload's fault: that
 * error propagates, for the caller to spool the uploads and retry later.
 */
import type { Db } from '../db/client';
import { envelopeSha } from '../domain/ingest/envelope';
import { ingestOutputsAtomically, type OutputAnswer, type ReceivedUpload } from '../domain/ingest/ingest-outputs';
import type { Ingested } from '../domain/ingest/upload-commit';
import { databaseFailure } from '../lib/database-failure';

export type OutputWriteResult<T> = { written: Ingested<T>; hexsha: string } | { error: unknown };

export const isUnavailable = (error: unknown) => databaseFailure(error)?.unavailable === true;

export async function writeOutputs<T>(db: Db, uploads: ReceivedUpload[], answer: OutputAnswer<T>): Promise<OutputWriteResult<T>[]> {
  const hexshaOf = (i: number) => envelopeSha(uploads[i]!.upload)!;
  try {
    const answers = await ingestOutputsAtomically(db, uploads, answer);
    return answers.map((written, i) => ({ written, hexsha: hexshaOf(i) }));
  } catch (error) {
    if (isUnavailable(error)) throw error;
    if (uploads.length === 1) return [{ error }];
  }
  const results: OutputWriteResult<T>[] = [];
  for (const [i, upload] of uploads.entries()) {
    try {
      const [written] = await ingestOutputsAtomically(db, [upload], answer);
      results.push({ written: written!, hexsha: hexshaOf(i) });
    } catch (error) {
      if (isUnavailable(error)) throw error;
      results.push({ error });
    }
  }
  return results;
}
