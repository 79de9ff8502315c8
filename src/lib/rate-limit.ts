/**
 * Rate limiting: the Workers Rate Limiting binding in production (per Cloudflare location,
 * approximate), fixed one-minute windows in memory on Node. What is limited, and by which key, is
 * decided where the app is assembled (src/app.ts); this module only counts.
 */
import { tooManyRequests } from './problem';

export interface RateLimiter {
  /** Counts one request for `key`; `retryAfterSeconds` is set when it is refused. */
  limit(key: string): Promise<{ allowed: boolean; retryAfterSeconds?: number }>;
}

/** The limiters a runtime provides (see the README for the defaults). */
export interface RateLimiters {
  /** Every request except ingestion, per caller (token, else client address). */
  requests: RateLimiter;
  /** Ingestion uploads per caller; absent: not limited (the default — the qa CLI doesn't retry a 429). */
  ingestion?: RateLimiter;
}

/**
 * The period of every `ratelimits` binding in wrangler.jsonc (test/wrangler-config.test.ts checks it).
 * Here, not in src/worker.ts: workerd takes every named export of the entry module for an entrypoint.
 */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

/** The Workers binding (`ratelimits` in wrangler.jsonc); it doesn't say when the window ends, so advise its period. */
export function bindingRateLimiter(binding: RateLimit, periodSeconds: number): RateLimiter {
  return {
    async limit(key) {
      const { success } = await binding.limit({ key });
      return success ? { allowed: true } : { allowed: false, retryAfterSeconds: periodSeconds };
    },
  };
}

export interface MemoryRateLimiterOptions {
  /** Keys tracked at most (bounded memory). */
  maxKeys?: number;
  now?: () => number;
}

const WINDOW_MS = 60_000;
/** Eviction looks at this many least recently used keys and forgets the one with the fewest requests. */
const EVICTION_SAMPLE = 8;

export function memoryRateLimiter(
  perMinute: number,
  { maxKeys = 10_000, now = Date.now }: MemoryRateLimiterOptions = {},
): RateLimiter & { readonly keys: number } {
  // A Map iterates in insertion order: re-inserting on every hit keeps it ordered by last use.
  const windows = new Map<string, { start: number; count: number }>();
  // When full, a key must go. Forgetting a busy key would reset its limit, so among the least
  // recently used few, the one that spent the least of its budget (or whose window ended) goes:
  // a flood of new keys evicts itself, not the callers it is meant to protect from.
  const evictOne = (time: number) => {
    let victim: string | undefined;
    let fewest = Infinity;
    let examined = 0;
    for (const [key, window] of windows) {
      const spent = time - window.start >= WINDOW_MS ? 0 : window.count;
      if (spent < fewest) [victim, fewest] = [key, spent];
      if (++examined === EVICTION_SAMPLE || spent === 0) break;
    }
    windows.delete(victim!);
  };
  return {
    get keys() {
      return windows.size;
    },
    async limit(key) {
      const time = now();
      let window = windows.get(key);
      windows.delete(key);
      if (!window || time - window.start >= WINDOW_MS) window = { start: time, count: 0 };
      if (windows.size >= maxKeys) evictOne(time);
      windows.set(key, window);
      window.count += 1;
      if (window.count <= perMinute) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + WINDOW_MS - time) / 1000)) };
    },
  };
}

/** Counts one request against `key`; throws a 429 problem with `Retry-After` once the limit is spent. */
export async function enforceRateLimit(limiter: RateLimiter, key: string): Promise<void> {
  const { allowed, retryAfterSeconds } = await limiter.limit(key);
  if (!allowed) throw tooManyRequests(retryAfterSeconds ?? 60);
}

/** The in-memory limiters of a Node process (0 ingestion uploads per minute: not limited). */
export function memoryRateLimiters(limits: { requestsPerMinute: number; ingestPerMinute: number }): RateLimiters {
  return {
    requests: memoryRateLimiter(limits.requestsPerMinute),
    ingestion: limits.ingestPerMinute > 0 ? memoryRateLimiter(limits.ingestPerMinute) : undefined,
  };
}
