/**
 * Where acknowledged-but-unwritten uploads wait (see spooled-uploads.ts): a Cloudflare Queue on
 * Workers, a durable file in the data folder on Node. `append` returns only once the messages are
 * durable — the client is answered 202 after it, never before.
 */
import type { Db } from '../db/client';
import { chunkRecorded } from '../domain/ingest/ingestion-receipts';
import type { BlobStore } from '../lib/object-store';
import { chunkOf, writeSpooled, type MessageLimits, type SpooledUpload, type SpoolWriteHooks } from './spooled-uploads';

export interface Spool extends MessageLimits {
  append(messages: SpooledUpload[]): Promise<void>;
  /** Messages waiting, when the runtime can tell (a Cloudflare Queue can't). */
  depth(): Promise<number | undefined>;
}

/** Cloudflare Queues: a message ≤ 128 KB, `sendBatch` ≤ 100 messages and ≤ 256 KB. */
const QUEUE_MESSAGE_BYTES = 120_000;
const QUEUE_BATCH_BYTES = 250_000;
const QUEUE_BATCH_MESSAGES = 100;
/**
 * A larger message waits in R2 under this prefix and the queue carries its key: uploads between the
 * queue's 128 KB and the body limit (MAX_BODY_BYTES, 1 MB by default; bulk 5 MB) are kept during an
 * outage like the others, not refused with a 503.
 */
export const SET_ASIDE_PREFIX = 'ingest-spool/';
const SET_ASIDE_MAX_BYTES = 32 * 1024 * 1024;

/** A spooled message too large for the queue: read from R2 by the consumer, deleted once written. */
export interface SetAside {
  kind: 'set-aside';
  key: string;
  receipt: string;
  chunk: number;
}
export type QueuedUpload = SpooledUpload | SetAside;

export function queueSpool(queue: Queue<QueuedUpload>, setAside: BlobStore): Spool {
  const encode = (message: QueuedUpload) => new TextEncoder().encode(JSON.stringify(message));
  return {
    chunkBytes: QUEUE_MESSAGE_BYTES,
    maxMessageBytes: SET_ASIDE_MAX_BYTES,
    async append(messages) {
      let batch: MessageSendRequest<QueuedUpload>[] = [];
      let bytes = 0;
      let unsent: string[] = []; // keys set aside whose pointers are not on the queue yet
      try {
        for (const spooled of messages) {
          const json = encode(spooled);
          const pointer: SetAside | undefined = json.length > QUEUE_MESSAGE_BYTES
            ? { kind: 'set-aside', key: `${SET_ASIDE_PREFIX}${spooled.receipt}/${chunkOf(spooled)}.json`, receipt: spooled.receipt, chunk: chunkOf(spooled) }
            : undefined;
          const size = pointer ? encode(pointer).length : json.length;
          if (batch.length && (batch.length === QUEUE_BATCH_MESSAGES || bytes + size > QUEUE_BATCH_BYTES)) {
            await queue.sendBatch(batch);
            [batch, bytes, unsent] = [[], 0, []];
          }
          if (pointer) {
            // Stored before its pointer is sent, and both before the client is answered.
            await setAside.put(pointer.key, json);
            unsent.push(pointer.key);
          }
          // As JSON, so that the bytes counted are the bytes sent (V8's serialization, the default, takes two per character of some strings).
          batch.push({ body: pointer ?? spooled, contentType: 'json' });
          bytes += size;
        }
        if (batch.length) await queue.sendBatch(batch);
      } catch (error) {
        // Not acknowledged: the client sends it again, so what was set aside for pointers never sent goes.
        if (unsent.length) await setAside.delete(unsent).catch(() => {});
        throw error;
      }
    },
    depth: async () => undefined,
  };
}

/**
 * Writes a message of the ingestion queue; one set aside is read from R2 first and deleted once
 * written. A redelivery after that finds no object: its chunk's receipt says it was written.
 */
export async function writeQueued(db: Db, message: QueuedUpload, setAside: BlobStore, hooks: SpoolWriteHooks): Promise<void> {
  if (message.kind !== 'set-aside') return writeSpooled(db, message, hooks);
  const stored = await setAside.get(message.key);
  if (!stored) {
    if (await chunkRecorded(db, message.receipt, message.chunk)) return;
    throw new Error(`the queued upload ${message.key} is missing from R2`);
  }
  await writeSpooled(db, JSON.parse(new TextDecoder().decode(stored)) as SpooledUpload, hooks);
  await setAside.delete([message.key]);
}
