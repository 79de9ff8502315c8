import { sql } from 'drizzle-orm';
import { queryRows, retryOnConcurrentCreate, type Db } from '../../db/client';
import type { CommitUpload } from './envelope';
import { commitUpsertCtes, type Ingested } from './upsert-commit';

/**
 * `POST /api/v1/commit[/:id]`: get-or-create the commit, merge the client's `data` into the
 * commit's (used e.g. for code-quality metrics per sub-project), and undelete it.
 */
export async function ingestCommit(db: Db, upload: CommitUpload, hexsha: string): Promise<Ingested<{ status: 'OK' }>> {
  const statement = sql`WITH ${commitUpsertCtes(upload, hexsha, { touchLatestOutput: false, commitDataPatch: upload.data ?? {}, undelete: true })}
    SELECT id, created FROM commit`;
  const { created } = await retryOnConcurrentCreate(async () => (await queryRows<{ created: boolean }>(db, statement))[0]);
  return { body: { status: 'OK' }, commitCreated: created };
}
