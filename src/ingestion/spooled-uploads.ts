/**
 * Uploads acknowledged with a receipt and written later: the messages a spool holds (Cloudflare
 * Queue on Workers, a file on Node), and how they are written. Outputs travel in chunks that
 * carry their commit envelope (project, commit, qaboard.yaml config: kilobytes) once; every upload
 * keeps its receipt time, so chunks may be written in any order and more than once.
 */
import type { Db } from '../db/client';
import { envelopeSha, withEnvelope, type BatchUpload, type CommitUpload, type OutputUpload } from '../domain/ingest/envelope';
import { ingestBatch } from '../domain/ingest/ingest-batch';
import { ingestCommit } from '../domain/ingest/ingest-commit';
import type { ReceivedUpload } from '../domain/ingest/commit-groups';
import { NO_OUTPUT } from '../domain/ingest/ingest-outputs';
import { inputPathOf } from '../domain/ingest/output-run';
import { chunkRecorded, recordChunk } from '../domain/ingest/ingestion-receipts';
import { failureMessage } from '../lib/database-failure';
import { utf8Length } from '../lib/storable-text';
import type { CompleteWrittenBatches } from './complete-batches';
import { isTransient, writeOutputs } from './write-outputs';

/** The fields an output upload shares with every upload of its commit (see domain/ingest/envelope.ts). */
const ENVELOPE_FIELDS = [
  'project', 'project_root', 'commit_sha', 'git_commit_sha', 'commit_branch', 'commit_tag', 'commit_committer_name',
  'commit_committer_email', 'commit_authored_datetime', 'commit_parents', 'commit_message', 'artifacts_commit',
  'commit_ci_dir', 'qaboard_config', 'qaboard_metrics',
] as const;

type Json = Record<string, unknown>;

/** The Cloudflare Queue of spooled uploads (wrangler.jsonc). */
export const INGEST_QUEUE = 'qaboard-ingest';

export type SpooledUpload =
  | {
      kind: 'outputs';
      receipt: string;
      chunk: number;
      /** Uploads under the receipt, all chunks together; `first` is this chunk's first one. */
      total: number;
      first: number;
      envelope: Json;
      items: { run: Json; receivedAt: string }[];
    }
  | { kind: 'batch'; receipt: string; receivedAt: string; upload: BatchUpload }
  | { kind: 'commit'; receipt: string; receivedAt: string; upload: CommitUpload; hexsha: string };

/** The number a message's receipt records it under: an outputs chunk's own, 0 for a batch or commit upload. */
export const chunkOf = (message: SpooledUpload) => (message.kind === 'outputs' ? message.chunk : 0);

const IN_ENVELOPE = new Set<string>(ENVELOPE_FIELDS);

function splitEnvelope(upload: OutputUpload): { envelope: Json; run: Json } {
  const envelope: Json = {};
  for (const field of ENVELOPE_FIELDS) if (field in upload) envelope[field] = upload[field];
  // Copied without the envelope's fields, not copied then deleted from: deleting keys turns an object into a slow dictionary.
  const run: Json = {};
  for (const [key, value] of Object.entries(upload)) if (!IN_ENVELOPE.has(key)) run[key] = value;
  return { envelope, run };
}

/** Whether two envelopes hold the same values (a bulk request's uploads share theirs): then their JSON is the same too. */
const sameValues = (a: Json, b: Json) => ENVELOPE_FIELDS.every((field) => (field in a) === (field in b) && a[field] === b[field]);

const sizeOf = (value: unknown) => utf8Length(JSON.stringify(value));

/** The sizes a spool's messages keep to, in bytes of JSON (see spool.ts). */
export interface MessageLimits {
  /** What a chunk of outputs should stay under to travel in one piece. */
  readonly chunkBytes: number;
  /** The largest message carried at all. */
  readonly maxMessageBytes: number;
}

const UNLIMITED: MessageLimits = { chunkBytes: Infinity, maxMessageBytes: Infinity };

/**
 * The messages carrying `uploads` under one receipt: consecutive uploads of the same envelope share
 * a chunk while it stays under `chunkBytes` (a Cloudflare Queue message holds 128 KB); an upload
 * larger than that travels in a chunk of its own. One larger than `maxMessageBytes` is refused
 * (`tooLarge`), not truncated.
 */
export function outputChunks(receipt: string, uploads: ReceivedUpload[], limits: MessageLimits = UNLIMITED): { chunks: SpooledUpload[]; tooLarge: number[] } {
  const chunks: Extract<SpooledUpload, { kind: 'outputs' }>[] = [];
  const tooLarge: number[] = [];
  let current: (typeof chunks)[number] | undefined;
  let currentEnvelope = '';
  let currentBytes = 0;
  uploads.forEach(({ upload, receivedAt }, index) => {
    const { envelope, run } = splitEnvelope(upload);
    const envelopeText = current && sameValues(envelope, current.envelope) ? currentEnvelope : JSON.stringify(envelope);
    const itemBytes = sizeOf({ run, receivedAt });
    if (!current || currentEnvelope !== envelopeText || currentBytes + itemBytes > limits.chunkBytes) {
      const emptyBytes = sizeOf({ kind: 'outputs', receipt, chunk: 0, total: 0, first: index, envelope, items: [] });
      if (emptyBytes + itemBytes > limits.maxMessageBytes) return void tooLarge.push(index);
      current = { kind: 'outputs', receipt, chunk: chunks.length, total: uploads.length, first: index, envelope, items: [] };
      chunks.push(current);
      currentEnvelope = envelopeText;
      currentBytes = emptyBytes;
    }
    current.items.push({ run, receivedAt });
    currentBytes += itemBytes + 1;
  });
  return { chunks, tooLarge };
}

/**
 * What an outputs chunk writes besides its outputs, as keys: its commit (the commit's record and
 * batches) and its test inputs (their metadata). Those rows are patched without a receipt-time guard
 * (the upload written last wins), so chunks sharing one must be written in spool order.
 */
function rowsPatchedBy(chunk: Extract<SpooledUpload, { kind: 'outputs' }>): string[] {
  const project = String(chunk.envelope.project);
  // The envelope's fields are those of the validated uploads it was split from (outputChunks).
  const keys = [JSON.stringify(['commit', project, envelopeSha(chunk.envelope as OutputUpload)])];
  for (const { run } of chunk.items) {
    // A run holds the uploads' other fields, `database` and the input's path among them.
    keys.push(JSON.stringify(['input', project, run.database, inputPathOf(run as Partial<OutputUpload>)]));
  }
  return keys;
}

/**
 * Spooled messages in the steps they are written in, in order; the messages of a step are written at
 * once, in any order. A step holds outputs chunks in a row that patch no row in common (rowsPatchedBy):
 * outputs themselves keep their receipt times (a write never replaces a later-received state), the
 * rest is ordered by the steps — what two of a step write, neither touches for the other. (A
 * project's config is the exception, which concurrent per-request uploads race for too.) A batch or
 * commit upload is a step of its own, after everything spooled before it and before everything after:
 * a `qa optimize` batch upload moves the outputs its run uploaded before it; written first, it would
 * move none.
 */
export function writeSteps(messages: SpooledUpload[]): SpooledUpload[][] {
  const steps: SpooledUpload[][] = [];
  let patched = new Set<string>(); // by the outputs chunks of the last step
  for (const message of messages) {
    const last = steps.at(-1);
    if (message.kind !== 'outputs') {
      steps.push([message]);
      continue;
    }
    const keys = rowsPatchedBy(message);
    if (last?.[0]?.kind === 'outputs' && !keys.some((key) => patched.has(key))) {
      last.push(message);
    } else {
      steps.push([message]);
      patched = new Set();
    }
    for (const key of keys) patched.add(key);
  }
  return steps;
}

export interface SpoolWriteHooks {
  /** After an upload created its commit (e.g. to ask GitLab for the commit's metadata). */
  written(upload: OutputUpload | BatchUpload | CommitUpload, hexsha: string, commitCreated: boolean): Promise<void>;
  /** Once uploads are committed: the batches they may have completed (ingestion/complete-batches.ts). */
  completeBatches: CompleteWrittenBatches;
}

/**
 * Writes one spooled message, and records its chunk in the same transaction. A transient failure
 * (the database unavailable, a deadlock: write-outputs.ts `isTransient`) throws and the spool
 * retries the message; an upload the database refuses is recorded as failed with the reason, and
 * the rest of its chunk is written.
 */
export async function writeSpooled(db: Db, message: SpooledUpload, hooks: SpoolWriteHooks): Promise<void> {
  const chunkNumber = chunkOf(message);
  const created: { upload: OutputUpload | BatchUpload | CommitUpload; hexsha: string }[] = [];
  const completionChecks: (number | undefined)[] = [];
  await db.transaction(async (tx) => {
    // A redelivered chunk stops here: its writes were done (and were idempotent anyway).
    if (await chunkRecorded(tx, message.receipt, chunkNumber)) return;
    let written: { upload: OutputUpload | BatchUpload | CommitUpload; hexsha: string; commitCreated: boolean }[];
    let errors: { item: number; error: string }[];
    let total = 1;
    if (message.kind === 'outputs') {
      const uploads = message.items.map(({ run, receivedAt }) => ({ upload: withEnvelope<OutputUpload>(message.envelope, run), receivedAt }));
      const results = await writeOutputs(tx, uploads, NO_OUTPUT);
      written = results.flatMap((r, i) => ('written' in r ? [{ upload: uploads[i]!.upload, hexsha: r.hexsha, commitCreated: r.written.commitCreated }] : []));
      errors = results.flatMap((r, i) => ('error' in r ? [{ item: message.first + i, error: failureMessage(r.error) }] : []));
      completionChecks.push(...results.map((r) => ('written' in r ? r.written.completionCheck : undefined)));
      total = message.total;
    } else {
      const hexsha = message.kind === 'commit' ? message.hexsha : envelopeSha(message.upload)!;
      try {
        const result = await tx.transaction((savepoint) =>
          message.kind === 'batch' ? ingestBatch(savepoint, message.upload) : ingestCommit(savepoint, message.upload, hexsha),
        );
        written = [{ upload: message.upload, hexsha, commitCreated: result.commitCreated }];
        errors = [];
      } catch (error) {
        if (isTransient(error)) throw error;
        written = [];
        errors = [{ item: 0, error: failureMessage(error) }];
      }
    }
    const items = message.kind === 'outputs' ? message.items.length : 1;
    const projectIds = message.kind === 'outputs' ? [String(message.envelope.project)] : [message.upload.project];
    await recordChunk(tx, { ingestionId: message.receipt, chunk: chunkNumber, total, items, errors, projectIds });
    created.push(...written.filter((w) => w.commitCreated));
  });
  for (const { upload, hexsha } of created) await hooks.written(upload, hexsha, true);
  await hooks.completeBatches(db, completionChecks);
}
