/**
 * A circuit breaker on the database, per process (or Worker isolate): after a few failures in a
 * row it opens, and requests stop waiting on connection timeouts — uploads go straight to the
 * spool, other requests answer 503 at once. After a pause one trial request is let through; its
 * success closes the circuit again.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Failures in a row that open the circuit. */
  failureThreshold?: number;
  /** How long it stays open before a trial. */
  openMs?: number;
  now?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly now: () => number;

  constructor({ failureThreshold = 3, openMs = 5_000, now = Date.now }: CircuitBreakerOptions = {}) {
    this.threshold = failureThreshold;
    this.openMs = openMs;
    this.now = now;
  }

  private held = false;

  /** Open, whatever happens, until `until` settles (a database not migrated yet must not be used). */
  holdOpenUntil(until: Promise<unknown>) {
    this.held = true;
    void until.finally(() => (this.held = false));
  }

  get state(): CircuitState {
    if (this.held) return 'open';
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.openMs ? 'half-open' : 'open';
  }

  /** Whether a request may use the database now (in half-open, only the one trial). */
  allows(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Seconds until a trial is allowed: what a refused client is told to wait. */
  retryAfterSeconds(): number {
    if (this.held || this.openedAt === undefined) return Math.max(1, Math.ceil(this.openMs / 1000));
    return Math.max(1, Math.ceil((this.openedAt + this.openMs - this.now()) / 1000));
  }

  recordSuccess() {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  recordFailure() {
    this.trialInFlight = false;
    this.failures += 1;
    if (this.failures >= this.threshold || this.openedAt !== undefined) this.openedAt = this.now();
  }
}
