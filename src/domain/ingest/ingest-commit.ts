import type { Db } from '../../db/client';
import { recordCommit } from '../commits/record-commit';
import type { CommitUpload } from './envelope';
import { uploadCommitRecord, type Ingested } from './upload-commit';

/**
 * `POST /api/v1/commit[/:id]`: get-or-create the commit, merge the client's `data` into the
 * commit's (used e.g. for code-quality metrics per sub-project), and undelete it.
 */
export async function ingestCommit(db: Db, upload: CommitUpload, hexsha: string): Promise<Ingested<{ status: 'OK' }>> {
  const { created } = await recordCommit(db, uploadCommitRecord(upload, hexsha, { commitDataPatch: upload.data ?? {}, undelete: true }));
  return { body: { status: 'OK' }, commitCreated: created };
}
