/**
 * Rate limiting per caller (token, else client address): the Workers Rate Limiting binding in
 * production (per Cloudflare location, approximate), a fixed one-minute window in memory on Node.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppBindings, AppContext } from './create-app';
import { ApiError } from './problem';

export interface RateLimiter {
  /** Counts one request for `key`; `retryAfterSeconds` is set when it is refused. */
  limit(key: string): Promise<{ allowed: boolean; retryAfterSeconds?: number }>;
}

/** The Workers binding (`ratelimits` in wrangler.jsonc); it doesn't say when the window ends, so advise its period. */
export function bindingRateLimiter(binding: RateLimit, periodSeconds: number): RateLimiter {
  return {
    async limit(key) {
      const { success } = await binding.limit({ key });
      return success ? { allowed: true } : { allowed: false, retryAfterSeconds: periodSeconds };
    },
  };
}

export function memoryRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    async limit(key) {
      const time = now();
      let window = windows.get(key);
      if (!window || time - window.start >= 60_000) {
        if (windows.size > 10_000) windows.clear(); // bound memory; a reset only lets a few extra requests through
        windows.set(key, (window = { start: time, count: 0 }));
      }
      window.count += 1;
      if (window.count <= perMinute) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + 60_000 - time) / 1000)) };
    },
  };
}

/** Callers without a (valid) token share the limit of their address (Cloudflare's, else the proxy's). */
export function addressKey(c: AppContext): string {
  const address = c.req.header('cf-connecting-ip') ?? c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
  return `anonymous:${address ?? 'unknown'}`;
}

/** Counts the request against `key`; throws a 429 problem with `Retry-After` once the limit is spent. */
export async function enforceRateLimit(c: AppContext, key: string) {
  const { allowed, retryAfterSeconds } = await c.var.rateLimiter.limit(key);
  if (allowed) return;
  const error = new ApiError(429, 'Too Many Requests', `Too many requests; retry in ${retryAfterSeconds} s.`);
  error.headers = { 'retry-after': String(retryAfterSeconds) };
  throw error;
}

export const rateLimit: MiddlewareHandler<AppBindings> = async (c, next) => {
  await enforceRateLimit(c, c.var.caller.id === 'anonymous' ? addressKey(c) : c.var.caller.id);
  return next();
};
