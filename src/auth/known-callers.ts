/**
 * Who API tokens stood for when last verified, per process (or Worker isolate): while the
 * database is unavailable, a CI job's token can't be looked up, yet its uploads must still be
 * accepted and spooled. Only then is this memory used: with the database up, every token is
 * verified against it, so a revocation takes effect at once.
 */
import type { Principal } from './principal';

const MAX_AGE_MS = 24 * 3600_000;

export class KnownCallers {
  private readonly callers = new Map<string, { principal: Principal; verifiedAt: number }>();

  constructor(
    private readonly maxEntries = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  remember(digest: string, principal: Principal | undefined) {
    this.callers.delete(digest);
    if (!principal) return;
    this.callers.set(digest, { principal, verifiedAt: this.now() });
    if (this.callers.size > this.maxEntries) this.callers.delete(this.callers.keys().next().value!);
  }

  recall(digest: string): Principal | undefined {
    const known = this.callers.get(digest);
    return known && this.now() - known.verifiedAt < MAX_AGE_MS ? known.principal : undefined;
  }
}
