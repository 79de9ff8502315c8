/** Cloudflare Worker entry: the API on Neon, one connection pool per request. */
import { buildApp } from './app';
import { parseConfig, type AppConfig } from './config';
import { configureNeonForProxy, openNeonDatabase } from './db/connect-neon';

export interface WorkerEnv {
  /** Neon connection string (a secret): use the `-pooler` host. */
  DATABASE_URL: string;
  /** Local development and tests only; see `configureNeonForProxy`. */
  NEON_WS_PROXY?: string;
}

/** The env object is the same across requests of an isolate: parse it once. */
const configs = new WeakMap<object, AppConfig>();
function configOf(env: WorkerEnv): AppConfig {
  let config = configs.get(env);
  if (!config) configs.set(env, (config = parseConfig(env as unknown as Record<string, unknown>)));
  return config;
}

/** A Neon pool lives for one invocation (request, queue batch, cron run); end it with `waitUntil`. */
function openDatabase(env: WorkerEnv, ctx: ExecutionContext) {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not configured');
  if (env.NEON_WS_PROXY) configureNeonForProxy(env.NEON_WS_PROXY);
  const { db, pool } = openNeonDatabase(env.DATABASE_URL);
  return { db, release: () => ctx.waitUntil(pool.end()) };
}

const app = buildApp({
  services(c) {
    const env = c.env as unknown as WorkerEnv;
    const { db, release } = openDatabase(env, c.executionCtx);
    return { services: { db, config: configOf(env) }, release };
  },
});

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<WorkerEnv>;
