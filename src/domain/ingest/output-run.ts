/**
 * What an output upload says about its run, normalised as the original stored it: legacy fields
 * mapped, the status rules applied (a running output is pending; results count once it is not).
 */
import { canonicalJson } from '../../lib/canonical-json';
import { deserializeConfiguration } from './configurations';
import { envelopeSha, type OutputUpload } from './envelope';
import { storedLocation } from './upload-commit';

type Json = Record<string, unknown>;

export interface OutputRun {
  batchLabel: string;
  /** Merged into the batch's data. */
  batchData: Json;
  database: string;
  path: string;
  /** Merged into the test input's data. */
  inputData: Json;
  platform: string;
  configurations: unknown[];
  extraParameters: Json;
  outputType: string;
  data: Json;
  outputDir: string | null;
  isRunning: boolean;
  isPending: boolean;
  isFailed: boolean;
  metrics: Json;
}

/** The path of an upload's test input (within its `database`): what identifies the input, with its project. */
export const inputPathOf = (upload: Pick<OutputUpload, 'rel_input_path' | 'input_path'>) => (upload.rel_input_path ?? upload.input_path)!;

export function outputRun(upload: OutputUpload): OutputRun {
  const isRunning = upload.is_running ?? false;
  const isPending = isRunning || (upload.is_pending ?? false);
  const metrics = upload.metrics ?? {};
  return {
    batchLabel: upload.batch_label,
    batchData: upload.job_type ? { type: upload.job_type } : {},
    database: upload.database,
    path: inputPathOf(upload),
    inputData: upload.input_metadata && Object.keys(upload.input_metadata).length ? { metadata: upload.input_metadata } : {},
    platform: upload.platform === 'lsf' ? 'linux' : upload.platform, // legacy clients
    configurations: upload.configurations ?? (upload.configuration !== undefined ? deserializeConfiguration(upload.configuration) : []),
    extraParameters: upload.extra_parameters,
    outputType: upload.input_type ?? '',
    data: { ...upload.data, user: upload.user ?? null, ci: upload.job_type === 'ci' },
    outputDir: storedLocation(upload.output_directory),
    isRunning,
    isPending,
    isFailed: !isPending && (Boolean(upload.is_failed) || Boolean(metrics.is_failed)),
    metrics: isPending ? {} : metrics,
  };
}

/**
 * Which output row an upload writes: its commit, batch, test input, platform, configurations and
 * parameters — as the database's unique index compares them (jsonb ignores key order).
 */
export const outputIdentity = (upload: OutputUpload, run = outputRun(upload)) =>
  canonicalJson([upload.project, envelopeSha(upload), run.batchLabel, run.database, run.path, run.platform, run.configurations, run.extraParameters]);
