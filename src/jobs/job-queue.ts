/**
 * Background work (GitLab calls, commit backfills, backup chunks) goes through queues so that
 * requests answer fast: Cloudflare Queues on Workers — a binding's `send` has this same shape —
 * and `InProcessQueue` on Node. Delivery is at-least-once: handlers must be idempotent.
 */
import { describeFailure } from '../lib/database-failure';

export interface JobQueue<M> {
  send(message: M, options?: { delaySeconds?: number }): Promise<unknown>;
}

/**
 * Handles one delivery. Returning acknowledges the message; throwing asks for a retry with backoff
 * (`RetryLater` says how long at least), until the queue's retry budget sends it to the dead-letter
 * queue. A permanent failure (unknown commit, bad config) should be logged and returned from,
 * so it is not retried forever.
 */
export type JobHandler<M> = (message: M, attempts: number) => Promise<void>;

/** A transient failure (rate limit, 5xx, network): retry, not before `delaySeconds`. */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delaySeconds?: number,
  ) {
    super(message);
  }
}

const MAX_BACKOFF_SECONDS = 15 * 60;

/** Delay before the next attempt: exponential in the attempts so far, at least what the failure asked for. */
export function retryDelaySeconds(attempts: number, error: unknown): number {
  const requested = error instanceof RetryLater ? (error.delaySeconds ?? 0) : 0;
  return Math.min(Math.max(requested, 2 ** attempts), MAX_BACKOFF_SECONDS);
}

export function logJobFailure(queue: string, attempts: number, error: unknown) {
  console.warn(JSON.stringify({ level: 'warn', queue, attempts, ...describeFailure(error) }));
}
