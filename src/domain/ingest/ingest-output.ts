import { sql, type SQL } from 'drizzle-orm';
import { jsonParam, queryRows, retryOnConcurrentCreate, type Db } from '../../db/client';
import { commitRecordCtes } from '../commits/record-commit';
import { outputColumns, outputContextColumns, type OutputInContextRow } from '../rows';
import { outputInContextJson, type OutputJson } from '../v1-json';
import { deserializeConfiguration } from './configurations';
import { envelopeSha, type OutputUpload } from './envelope';
import { storedLocation, uploadCommitRecord, type Ingested } from './upload-commit';

/** The run's status as the original stored it: a running output is pending; results count once it is not. */
export function outputStatus(upload: OutputUpload) {
  const isRunning = upload.is_running ?? false;
  const isPending = isRunning || (upload.is_pending ?? false);
  const metrics = upload.metrics ?? {};
  return {
    isRunning,
    isPending,
    metrics: isPending ? {} : metrics,
    isFailed: !isPending && (Boolean(upload.is_failed) || Boolean(metrics.is_failed)),
  };
}

/**
 * The single statement behind `POST /api/v1/output`: get-or-create project, commit, batch and
 * test input (without touching their rows when nothing changes), then upsert the output.
 * Test inputs belong to the project: the upload's input metadata only ever reaches its own project's row.
 * The output's identity is (batch, test input, platform, configurations, extra_parameters):
 * the start and end uploads of one run update the same row.
 */
export function ingestOutputStatement(upload: OutputUpload): SQL {
  const hexsha = envelopeSha(upload)!;
  const inputPath = (upload.rel_input_path ?? upload.input_path)!;
  const platform = upload.platform === 'lsf' ? 'linux' : upload.platform; // legacy clients
  const configurations =
    upload.configurations ?? (upload.configuration !== undefined ? deserializeConfiguration(upload.configuration) : []);
  const status = outputStatus(upload);
  const outputData = { ...upload.data, user: upload.user ?? null, ci: upload.job_type === 'ci' };
  const batchData = jsonParam(upload.job_type ? { type: upload.job_type } : {});
  const inputData = jsonParam(upload.input_metadata && Object.keys(upload.input_metadata).length ? { metadata: upload.input_metadata } : {});

  return sql`WITH ${commitRecordCtes(uploadCommitRecord(upload, hexsha, { touchLatestOutput: true }))},
    new_batch AS (
      INSERT INTO batches (ci_commit_id, label, data) SELECT id, ${upload.batch_label}, ${batchData}::jsonb FROM commit
      ON CONFLICT (ci_commit_id, label) DO NOTHING
      RETURNING id, label, batch_dir_override
    ),
    existing_batch AS (
      SELECT b.id, b.label, b.batch_dir_override FROM batches b JOIN commit ON b.ci_commit_id = commit.id WHERE b.label = ${upload.batch_label}
    ),
    batch_update AS (
      UPDATE batches b SET data = b.data || ${batchData}::jsonb FROM existing_batch e
      WHERE b.id = e.id AND b.data IS DISTINCT FROM b.data || ${batchData}::jsonb
    ),
    batch AS (SELECT * FROM new_batch UNION ALL SELECT * FROM existing_batch),
    new_input AS (
      INSERT INTO test_inputs (project_id, database, path, data) SELECT id, ${upload.database}, ${inputPath}, ${inputData}::jsonb FROM project
      ON CONFLICT (project_id, database, path) DO NOTHING
      RETURNING id, database, path, data
    ),
    existing_input AS (
      SELECT t.id, t.database, t.path, t.data FROM test_inputs t JOIN project ON t.project_id = project.id
      WHERE t.database = ${upload.database} AND t.path = ${inputPath}
    ),
    input_update AS (
      UPDATE test_inputs t SET data = t.data || ${inputData}::jsonb FROM existing_input e
      WHERE t.id = e.id AND t.data IS DISTINCT FROM t.data || ${inputData}::jsonb
      RETURNING t.id, t.database, t.path, t.data
    ),
    test_input AS (
      SELECT * FROM new_input
      UNION ALL SELECT * FROM input_update
      UNION ALL SELECT * FROM existing_input WHERE NOT EXISTS (SELECT 1 FROM input_update)
    ),
    output AS (
      INSERT INTO outputs AS o (
        batch_id, test_input_id, platform, configurations, extra_parameters, output_type, data,
        output_dir_override, is_running, is_pending, is_failed, metrics
      )
      SELECT batch.id, test_input.id, ${platform}, ${JSON.stringify(configurations)}::jsonb,
        ${JSON.stringify(upload.extra_parameters)}::jsonb, ${upload.input_type ?? ''}, ${JSON.stringify(outputData)}::jsonb,
        ${storedLocation(upload.output_directory)}, ${status.isRunning}, ${status.isPending}, ${status.isFailed},
        ${JSON.stringify(status.metrics)}::jsonb
      FROM batch, test_input
      ON CONFLICT (batch_id, test_input_id, platform, md5(configurations::text), md5(extra_parameters::text)) DO UPDATE SET
        output_type = EXCLUDED.output_type,
        data = EXCLUDED.data,
        output_dir_override = COALESCE(EXCLUDED.output_dir_override, o.output_dir_override),
        is_running = EXCLUDED.is_running,
        is_pending = EXCLUDED.is_pending,
        is_failed = CASE WHEN EXCLUDED.is_pending THEN o.is_failed ELSE EXCLUDED.is_failed END,
        metrics = CASE WHEN EXCLUDED.is_pending THEN o.metrics ELSE EXCLUDED.metrics END,
        deleted = false,
        updated_at = now()
      RETURNING *
    )
    SELECT ${outputColumns}, ${outputContextColumns}, c.created AS "commitCreated"
    FROM output o, test_input t, batch b, commit c, project p`;
}

/** `POST /api/v1/output`: records a run (see `ingestOutputStatement`); answers the output. */
export async function ingestOutput(db: Db, upload: OutputUpload): Promise<Ingested<OutputJson>> {
  const statement = ingestOutputStatement(upload);
  const row = await retryOnConcurrentCreate(
    async () => (await queryRows<OutputInContextRow & { commitCreated: boolean }>(db, statement))[0],
  );
  return { body: outputInContextJson(row), commitCreated: row.commitCreated };
}
