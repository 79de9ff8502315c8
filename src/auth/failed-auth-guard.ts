/**
 * Guessing tokens from one address is throttled: each failed authentication counts against the
 * address, and once its budget is spent the address is refused (429) *before* any token it sends
 * is verified — otherwise a guesser would still learn which guess works.
 * Which addresses are blocked is kept in memory, bounded (least recently blocked forgotten first).
 */
import { tooManyRequests } from '../lib/problem';
import type { RateLimiter } from '../lib/rate-limit';

export interface FailedAuthGuard {
  /** Throws a 429 while the address is blocked. */
  checkNotBlocked(address: string): void;
  /** Counts a failure; returns the 429 to throw once the address is over its budget. */
  recordFailure(address: string): Promise<Error | undefined>;
}

export function failedAuthGuard(limiter: RateLimiter, { maxAddresses = 10_000, now = Date.now } = {}): FailedAuthGuard {
  const blockedUntil = new Map<string, number>();
  return {
    checkNotBlocked(address) {
      const until = blockedUntil.get(address);
      if (until === undefined) return;
      const waitMs = until - now();
      if (waitMs <= 0) blockedUntil.delete(address);
      else throw tooManyRequests(Math.ceil(waitMs / 1000), 'Too many failed authentications from this address; retry later.');
    },
    async recordFailure(address) {
      const { allowed, retryAfterSeconds = 60 } = await limiter.limit(address);
      if (allowed) return undefined;
      blockedUntil.delete(address);
      blockedUntil.set(address, now() + retryAfterSeconds * 1000);
      if (blockedUntil.size > maxAddresses) blockedUntil.delete(blockedUntil.keys().next().value!);
      return tooManyRequests(retryAfterSeconds, 'Too many failed authentications from this address; retry later.');
    },
  };
}
