/**
 * GitLab's signing keys (JWKS), cached in memory per process or isolate: verifying a CI id_token
 * then costs no request. Keys are fetched again after 10 minutes, or sooner when a token names a key
 * we don't have (GitLab rotated them) — at most every 30 s, so a stream of tokens with unknown key
 * ids can't make us hammer GitLab.
 *
 * Only plain data is shared between requests (never a pending fetch: Workers forbid awaiting one
 * request's I/O in another); each request that finds the cache cold fetches for itself.
 */
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { bodyUpTo } from '../lib/bounded-body';
import { serviceUnavailable } from '../lib/problem';

export interface KeySetCache {
  /** The key set at `url`, cached; `refresh` asks for a fresh copy (subject to the cooldown). */
  keySet(url: string, options: { timeoutMs: number; refresh?: boolean }): Promise<ReturnType<typeof createLocalJWKSet>>;
}

const MAX_JWKS_BYTES = 64 * 1024;

export function keySetCache({ maxAgeMs = 600_000, cooldownMs = 30_000, now = Date.now } = {}): KeySetCache {
  const entries = new Map<string, { keys: ReturnType<typeof createLocalJWKSet>; fetchedAt: number }>();
  return {
    async keySet(url, { timeoutMs, refresh = false }) {
      const cached = entries.get(url);
      const age = cached ? now() - cached.fetchedAt : Infinity;
      if (cached && age < maxAgeMs && (!refresh || age < cooldownMs)) return cached.keys;
      let keys: ReturnType<typeof createLocalJWKSet>;
      try {
        const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
        if (!response.ok) {
          await response.body?.cancel();
          throw new Error(`GitLab answered ${response.status}`);
        }
        const body = await bodyUpTo(response, MAX_JWKS_BYTES);
        if (!body) throw new Error(`the key set exceeds ${MAX_JWKS_BYTES} bytes`);
        keys = createLocalJWKSet(JSON.parse(new TextDecoder().decode(body)) as JSONWebKeySet);
      } catch (error) {
        // A stale key set beats none while GitLab is unreachable.
        if (cached) return cached.keys;
        throw serviceUnavailable(`GitLab's signing keys can't be fetched (${(error as Error).message}); retry later.`, 30);
      }
      entries.set(url, { keys, fetchedAt: now() });
      return keys;
    },
  };
}
