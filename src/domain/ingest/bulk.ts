/**
 * Bulk ingestion bodies (`POST /api/v2/outputs`): up to 1,000 output uploads, either as an array
 * of v1 uploads, or (v2) one object whose `outputs` list the runs and whose other fields — the
 * commit, its config, defaults such as `batch_label` — are sent once for all of them. Every
 * upload is validated up front; the errors name the item (`3.input_path`, `outputs.3.input_path`).
 */
import { z } from '@hono/zod-openapi';
import { outputUpload, outputUploadFields, outputUploadProblems, withEnvelope, type OutputUpload } from './envelope';
import { outputIdentity } from './output-run';

export const MAX_BULK_UPLOADS = 1_000;
/**
 * Uploads of one output a bulk request may carry: a run's start and its end. Each further one would
 * cost a statement of its own (a row is written once per statement), for a state overwritten at once.
 */
const MAX_UPLOADS_PER_OUTPUT = 2;
/** The largest bulk body: its uploads share one request instead of a thousand. */
export const MAX_BULK_BYTES = 5 * 1024 * 1024;

const uploadItem = z.record(z.string(), z.unknown());

const v1Bulk = z.array(uploadItem).min(1).max(MAX_BULK_UPLOADS).openapi({ description: 'v1 output uploads, as the qa CLI sends them one by one.' });

const v2Bulk = z
  .looseObject({
    outputs: z.array(uploadItem).min(1).max(MAX_BULK_UPLOADS).openapi({ description: "The runs: each is merged over the object's other fields." }),
  })
  .openapi({ description: 'The commit envelope (project, commit_sha, qaboard_config…) once, and the runs.' });

type Parsed = { success: true; data: OutputUpload } | { success: false; issues: { path: PropertyKey[]; message: string }[] };

function parseWhole(item: unknown): Parsed {
  const parsed = outputUpload.safeParse(item);
  return parsed.success ? parsed : { success: false, issues: parsed.error.issues };
}

type FieldMask = { [K in keyof typeof outputUploadFields.shape]?: true };

/** Schemas of the fields a v2 envelope sets and of the others; a few sets of envelope fields are kept (clients send one). */
const splitSchemas = new Map<string, ReturnType<typeof splitSchemasOf>>();
const splitSchemasOf = (mask: FieldMask) => ({ envelope: outputUploadFields.pick(mask), run: outputUploadFields.omit(mask) });

function schemasFor(envelopeFields: string[]) {
  const key = envelopeFields.join();
  let schemas = splitSchemas.get(key);
  if (!schemas) {
    if (splitSchemas.size >= 16) splitSchemas.clear();
    schemas = splitSchemasOf(Object.fromEntries(envelopeFields.map((field) => [field, true])) as FieldMask);
    splitSchemas.set(key, schemas);
  }
  return schemas;
}

/**
 * v2 runs, each as its envelope merged with it. The envelope's fields (kilobytes with qaboard.yaml)
 * are checked once rather than once per run: each run's own fields, and the rules across fields,
 * per run. A run that sets an envelope field, or an invalid envelope, is checked whole (the same
 * answer: every run then names the envelope's problems as its own).
 */
function v2Items({ outputs, ...envelope }: { outputs: Record<string, unknown>[] } & Record<string, unknown>) {
  const envelopeFields = Object.keys(envelope).filter((field) => Object.hasOwn(outputUploadFields.shape, field));
  const inEnvelope = new Set(envelopeFields);
  const schemas = schemasFor(envelopeFields);
  const parsedEnvelope = schemas.envelope.safeParse(envelope);
  return outputs.map((run, i): { path: (string | number)[]; parsed: Parsed } => {
    const path = ['outputs', i];
    if (!parsedEnvelope.success || Object.keys(run).some((field) => inEnvelope.has(field))) return { path, parsed: parseWhole(withEnvelope(envelope, run)) };
    const own = schemas.run.safeParse(run);
    if (!own.success) return { path, parsed: { success: false, issues: own.error.issues } };
    const data = withEnvelope<OutputUpload>(parsedEnvelope.data, own.data);
    const issues = outputUploadProblems(data);
    return { path, parsed: issues.length ? { success: false, issues } : { success: true, data } };
  });
}

export const bulkUpload = z
  .union([v1Bulk, v2Bulk])
  .transform((body, ctx): OutputUpload[] => {
    const items = Array.isArray(body) ? body.map((item, i) => ({ path: [i], parsed: parseWhole(item) })) : v2Items(body);
    const uploads: OutputUpload[] = [];
    const uploadsPerOutput = new Map<string, number>();
    for (const { path, parsed } of items) {
      if (!parsed.success) {
        for (const issue of parsed.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [...path, ...issue.path] });
        continue;
      }
      const identity = outputIdentity(parsed.data);
      const count = (uploadsPerOutput.get(identity) ?? 0) + 1;
      uploadsPerOutput.set(identity, count);
      if (count > MAX_UPLOADS_PER_OUTPUT) {
        const message = `is upload ${count} of one output (same commit, batch, input, platform, configurations and parameters): at most ${MAX_UPLOADS_PER_OUTPUT} per request, its start and its end`;
        ctx.addIssue({ code: 'custom', message, path });
      }
      uploads.push(parsed.data);
    }
    return uploads;
  })
  .openapi('BulkOutputs', {
    example: {
      project: 'group/repo',
      commit_sha: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
      commit_branch: 'master',
      batch_label: 'default',
      database: '/mnt/datasets/isp',
      outputs: [
        { rel_input_path: 'scenes/night/0001.dng', metrics: { psnr: 31.5 } },
        { rel_input_path: 'scenes/night/0002.dng', metrics: { psnr: 29.8 } },
      ],
    },
  });
