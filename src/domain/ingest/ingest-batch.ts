import { sql } from 'drizzle-orm';
import { jsonParam, queryRows, retryOnConcurrentCreate, type Db } from '../../db/client';
import { commitRecordCtes } from '../commits/record-commit';
import { envelopeSha, type BatchUpload } from './envelope';
import { uploadCommitRecord, type Ingested } from './upload-commit';
import { nextUpdatedAt } from '../updated-at';

/** The `qa optimize` bookkeeping fields of a batch upload's `data`. */
interface OptimizationData {
  optimization?: unknown;
  iteration?: unknown;
  iteration_label?: unknown;
  is_best_iter?: unknown;
}

/**
 * `POST /api/v1/batch`: get-or-create the commit and the batch; record its folder, merge client
 * data and `qa batch` commands, and keep the config/metrics when they differ from the commit's
 * (local `qa --share` runs with an edited qaboard.yaml). With `qa optimize` data, also file the
 * best iteration's outputs under this batch and drop the finished iteration batches.
 */
export async function ingestBatch(db: Db, upload: BatchUpload): Promise<Ingested<{ status: 'OK'; id: number }>> {
  const hexsha = envelopeSha(upload)!;
  const clientData = (upload.data ?? {}) as Record<string, unknown> & OptimizationData;
  const isBestIteration = Boolean(clientData.optimization && clientData.is_best_iter);
  const dataPatch = {
    ...clientData,
    ...(isBestIteration && { best_iter: clientData.iteration }),
    ...(upload.command && { commands: upload.command }),
  };
  const config = jsonParam(upload.qaboard_config);
  const metrics = jsonParam(upload.qaboard_metrics);

  const upsert = sql`WITH ${commitRecordCtes(uploadCommitRecord(upload, hexsha, {}))}
    INSERT INTO batches AS b (ci_commit_id, label, batch_dir_override, data)
    SELECT c.id, ${upload.batch_label}, ${upload.batch_dir ?? upload.prefix_output_dir ?? null},
      CASE WHEN ${config}::jsonb IS NOT NULL AND (c.data ? 'qatools_config') AND c.data -> 'qatools_config' <> ${config}::jsonb
        THEN jsonb_build_object('config', ${config}::jsonb) ELSE '{}'::jsonb END
      || CASE WHEN ${metrics}::jsonb IS NOT NULL AND (c.data ? 'qatools_metrics') AND c.data -> 'qatools_metrics' <> ${metrics}::jsonb
        THEN jsonb_build_object('qatools_metrics', ${metrics}::jsonb) ELSE '{}'::jsonb END
      || ${JSON.stringify(dataPatch)}::jsonb
    FROM commit c
    ON CONFLICT (ci_commit_id, label) DO UPDATE SET
      batch_dir_override = COALESCE(EXCLUDED.batch_dir_override, b.batch_dir_override),
      data = b.data || EXCLUDED.data || CASE WHEN EXCLUDED.data ? 'commands'
        THEN jsonb_build_object('commands', COALESCE(b.data -> 'commands', '{}'::jsonb) || (EXCLUDED.data -> 'commands'))
        ELSE '{}'::jsonb END
    RETURNING id, ci_commit_id, (SELECT created FROM commit) AS commit_created`;

  const { id, ci_commit_id: commitId, commit_created: commitCreated } = await retryOnConcurrentCreate(
    db,
    async () => (await queryRows<{ id: number; ci_commit_id: number; commit_created: boolean }>(db, upsert))[0],
  );
  const answer = { body: { status: 'OK' as const, id }, commitCreated };
  if (!clientData.optimization) return answer;
  await db.transaction(async (tx) => {
    if (isBestIteration && typeof clientData.iteration_label === 'string') {
      await tx.execute(sql`DELETE FROM outputs WHERE batch_id = ${id} AND output_type <> 'optim_iteration'`);
      await tx.execute(sql`
        UPDATE outputs o SET batch_id = ${id}, updated_at = ${nextUpdatedAt('o.updated_at')}
        FROM batches source
        WHERE source.ci_commit_id = ${commitId} AND source.label = ${clientData.iteration_label}
          AND o.batch_id = source.id AND source.id <> ${id}
          AND NOT EXISTS (
            SELECT 1 FROM outputs kept WHERE kept.batch_id = ${id} AND kept.test_input_id = o.test_input_id
              AND kept.platform = o.platform AND kept.configurations = o.configurations
              AND kept.extra_parameters = o.extra_parameters)`);
    }
    // Iterations are labelled `<label>|iter<N>`; those up to this one are done (later ones may still run).
    if (typeof clientData.iteration === 'number') {
      const prefix = `${upload.batch_label}|iter`;
      await tx.execute(sql`
        DELETE FROM batches
        WHERE ci_commit_id = ${commitId} AND starts_with(label, ${prefix})
          AND substr(label, ${prefix.length + 1}) ~ '^[0-9]+$'
          AND substr(label, ${prefix.length + 1})::numeric <= ${clientData.iteration}`);
    }
  });
  return answer;
}
