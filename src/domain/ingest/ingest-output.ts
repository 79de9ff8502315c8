import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { outputColumns, outputContextColumns, outputInContextJson, type OutputInContextRow, type OutputJson } from '../rows';
import { deserializeConfiguration } from './configurations';
import { envelopeSha, type OutputUpload } from './envelope';
import { commitUpsertCtes, storedLocation } from './upsert-commit';

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
 * `POST /api/v1/output`: get-or-create project, commit, batch, test input and output, and record
 * the run's status — in one statement. The output's identity is (batch, test input, platform,
 * configurations, extra_parameters): the start/end uploads of one run update the same row.
 */
export async function ingestOutput(db: Db, upload: OutputUpload): Promise<OutputJson> {
  const hexsha = envelopeSha(upload)!;
  const inputPath = (upload.rel_input_path ?? upload.input_path)!;
  const platform = upload.platform === 'lsf' ? 'linux' : upload.platform; // legacy clients
  const configurations =
    upload.configurations ?? (upload.configuration !== undefined ? deserializeConfiguration(upload.configuration) : []);
  const status = outputStatus(upload);
  const outputData = { ...upload.data, user: upload.user ?? null, ci: upload.job_type === 'ci' };
  const batchData = upload.job_type ? { type: upload.job_type } : {};
  const inputData = upload.input_metadata && Object.keys(upload.input_metadata).length ? { metadata: upload.input_metadata } : {};

  const [row] = await queryRows<OutputInContextRow>(
    db,
    sql`WITH ${commitUpsertCtes(upload, hexsha, { touchLatestOutput: true })},
    batch AS (
      INSERT INTO batches AS b (ci_commit_id, label, data)
      SELECT commit.id, ${upload.batch_label}, ${JSON.stringify(batchData)}::jsonb FROM commit
      ON CONFLICT (ci_commit_id, label) DO UPDATE SET data = b.data || EXCLUDED.data
      RETURNING id, label, batch_dir_override
    ),
    test_input AS (
      INSERT INTO test_inputs AS t (database, path, data)
      VALUES (${upload.database}, ${inputPath}, ${JSON.stringify(inputData)}::jsonb)
      ON CONFLICT (database, path) DO UPDATE SET data = t.data || EXCLUDED.data
      RETURNING id, database, path, data
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
        deleted = false
      RETURNING *
    )
    SELECT ${outputColumns}, ${outputContextColumns}
    FROM output o, test_input t, batch b, commit c, project p`,
  );
  if (!row) throw new Error('the output upsert returned no row');
  return outputInContextJson(row);
}
