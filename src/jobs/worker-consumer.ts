/** Runs a Cloudflare Queues batch through a handler: ack what succeeds, retry the rest with backoff. */
import { logJobFailure, retryDelaySeconds, type JobHandler } from './job-queue';

export async function consumeBatch<M>(batch: MessageBatch<M>, handle: JobHandler<M>): Promise<void> {
  for (const message of batch.messages) {
    try {
      await handle(message.body, message.attempts);
      message.ack();
    } catch (error) {
      logJobFailure(batch.queue, message.attempts, error);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, error) });
    }
  }
}
