/**
 * The Node entry's queue: same contract as Cloudflare Queues (at-least-once, retries with backoff,
 * a dead-letter list after `maxRetries`), in memory. Jobs do not survive a restart; the work they
 * carry (webhooks, backfills) can be redone.
 */
import { logJobFailure, retryDelaySeconds, type JobHandler, type JobQueue } from './job-queue';

export interface InProcessQueueOptions {
  name: string;
  /** Retries after the first attempt, as Cloudflare's `max_retries`. */
  maxRetries?: number;
  /** Scales every delay (tests use 0 to retry at once). */
  delayScale?: number;
  /** One delivery at a time, as a Cloudflare consumer with `max_concurrency: 1`. */
  serial?: boolean;
}

export class InProcessQueue<M> implements JobQueue<M> {
  readonly deadLetters: { message: M; error: string }[] = [];
  private handler?: JobHandler<M>;
  private inFlight = new Set<Promise<void>>();
  /** With `serial`: the delivery the next one waits for. */
  private previousDelivery: Promise<void> = Promise.resolve();

  constructor(private readonly options: InProcessQueueOptions) {}

  /** Sets the consumer (separate from construction: the consumer often needs the queue itself). */
  consume(handler: JobHandler<M>) {
    this.handler = handler;
  }

  async send(message: M, options: { delaySeconds?: number } = {}): Promise<void> {
    this.schedule(message, 1, options.delaySeconds ?? 0);
  }

  /** Resolves when no job is running or waiting (tests, graceful shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private schedule(message: M, attempts: number, delaySeconds: number) {
    const run = new Promise<void>((resolve) => {
      setTimeout(() => void this.deliverInTurn(message, attempts).finally(resolve), delaySeconds * 1000 * (this.options.delayScale ?? 1));
    });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private deliverInTurn(message: M, attempts: number): Promise<void> {
    if (!this.options.serial) return this.deliver(message, attempts);
    const delivery = this.previousDelivery.then(() => this.deliver(message, attempts));
    this.previousDelivery = delivery.catch(() => {});
    return delivery;
  }

  private async deliver(message: M, attempts: number) {
    if (!this.handler) throw new Error(`queue ${this.options.name} has no consumer`);
    try {
      await this.handler(message, attempts);
    } catch (error) {
      logJobFailure(this.options.name, attempts, error);
      if (attempts > (this.options.maxRetries ?? 3)) {
        this.deadLetters.push({ message, error: error instanceof Error ? error.message : String(error) });
        console.error(JSON.stringify({ level: 'error', queue: this.options.name, dead_letter: message }));
      } else {
        this.schedule(message, attempts + 1, retryDelaySeconds(attempts, error));
      }
    }
  }
}
