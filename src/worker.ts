/** Cloudflare Worker entry: the API on Neon, one connection pool per request. */
import { buildApp } from './app';
import { configureNeonForProxy, openNeonDatabase } from './db/connect-neon';

export interface WorkerEnv {
  /** Neon connection string (a secret): use the `-pooler` host. */
  DATABASE_URL: string;
  /** Local development and tests only; see `configureNeonForProxy`. */
  NEON_WS_PROXY?: string;
}

const app = buildApp({
  database: {
    forRequest(c) {
      const env = c.env as WorkerEnv;
      if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not configured');
      if (env.NEON_WS_PROXY) configureNeonForProxy(env.NEON_WS_PROXY);
      const { db, pool } = openNeonDatabase(env.DATABASE_URL);
      return { db, release: () => c.executionCtx.waitUntil(pool.end()) };
    },
  },
});

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<WorkerEnv>;
