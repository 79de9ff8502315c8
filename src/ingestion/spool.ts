/**
 * Where acknowledged-but-unwritten uploads wait (see spooled-uploads.ts): a Cloudflare Queue on
 * Workers, a durable file in the data folder on Node. `append` returns only once the messages are
 * durable — the client is answered 202 after it, never before.
 */
import type { SpooledUpload } from './spooled-uploads';

export interface Spool {
  append(messages: SpooledUpload[]): Promise<void>;
  /** Messages waiting, when the runtime can tell (a Cloudflare Queue can't). */
  depth(): Promise<number | undefined>;
  /** The largest message it carries, in bytes of JSON. */
  readonly maxMessageBytes: number;
}

/** Cloudflare Queues: a message ≤ 128 KB, `sendBatch` ≤ 100 messages and ≤ 256 KB. */
const QUEUE_MESSAGE_BYTES = 120_000;
const QUEUE_BATCH_BYTES = 250_000;
const QUEUE_BATCH_MESSAGES = 100;

export function queueSpool(queue: Queue<SpooledUpload>): Spool {
  return {
    maxMessageBytes: QUEUE_MESSAGE_BYTES,
    async append(messages) {
      let batch: { body: SpooledUpload }[] = [];
      let bytes = 0;
      for (const message of messages) {
        const size = new TextEncoder().encode(JSON.stringify(message)).length;
        if (batch.length && (batch.length === QUEUE_BATCH_MESSAGES || bytes + size > QUEUE_BATCH_BYTES)) {
          await queue.sendBatch(batch);
          [batch, bytes] = [[], 0];
        }
        batch.push({ body: message });
        bytes += size;
      }
      if (batch.length) await queue.sendBatch(batch);
    },
    depth: async () => undefined,
  };
}
