/** Cloudflare Worker entry: the API on Neon, one connection pool per request. */
import { buildApp } from './app';
import { parseConfig, type AppConfig } from './config';
import { configureNeonForProxy, openNeonDatabase } from './db/connect-neon';
import { warnWhenOpen } from './auth/warn-open';
import { bindingRateLimiter, type RateLimiter } from './lib/rate-limit';
import { GitLabClient } from './gitlab/client';
import { GITLAB_QUEUE, gitlabJobHandler, type GitLabJob } from './gitlab/jobs';
import { consumeBatch } from './jobs/worker-consumer';
import { backupStepHandler, firstBackupStep, MAINTENANCE_QUEUE, type BackupStepJob } from './maintenance/backup-chain';
import { r2BlobStore } from './maintenance/blob-store';
import { runScheduledMaintenance } from './maintenance/scheduled-jobs';

export interface WorkerEnv {
  /** Neon connection string (a secret): use the `-pooler` host. */
  DATABASE_URL: string;
  /** Local development and tests only; see `configureNeonForProxy`. */
  NEON_WS_PROXY?: string;
  /** The `ratelimits` binding in wrangler.jsonc: requests per minute per caller. */
  RATE_LIMITER: RateLimit;
  /** Producer binding of the `qaboard-gitlab` queue (pushes to process, commits to backfill). */
  GITLAB_JOBS?: Queue<GitLabJob>;
  /** R2 bucket holding the daily backups. */
  BACKUPS: R2Bucket;
  /** Producer binding of the `qaboard-maintenance` queue: a backup proceeds one part per message. */
  MAINTENANCE_JOBS: Queue<BackupStepJob>;
}

/** The env object is the same across requests of an isolate: parse it once. */
const configs = new WeakMap<object, AppConfig>();
function configOf(env: WorkerEnv): AppConfig {
  let config = configs.get(env);
  if (!config) {
    configs.set(env, (config = parseConfig(env as unknown as Record<string, unknown>)));
    warnWhenOpen(config);
  }
  return config;
}

/** Must match `ratelimits[].simple.period` in wrangler.jsonc. */
const RATE_LIMIT_PERIOD_SECONDS = 60;
const rateLimiters = new WeakMap<object, RateLimiter>();
function rateLimiterOf(env: WorkerEnv): RateLimiter {
  let limiter = rateLimiters.get(env);
  if (!limiter) rateLimiters.set(env, (limiter = bindingRateLimiter(env.RATE_LIMITER, RATE_LIMIT_PERIOD_SECONDS)));
  return limiter;
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
    const config = configOf(env);
    const rateLimiter = rateLimiterOf(env);
    return { services: { db, config, rateLimiter, gitlabQueue: config.gitlab ? env.GITLAB_JOBS : undefined }, release };
  },
});

/** Queue consumers by queue name (one Worker consumes every queue of the app). */
const consumers: Record<string, (batch: MessageBatch, env: WorkerEnv, ctx: ExecutionContext) => Promise<void>> = {
  async [GITLAB_QUEUE](batch, env, ctx) {
    const config = configOf(env);
    if (!config.gitlab) throw new Error('GITLAB_URL and GITLAB_TOKEN are required to consume the GitLab queue');
    const { db, release } = openDatabase(env, ctx);
    try {
      await consumeBatch(batch as MessageBatch<GitLabJob>, gitlabJobHandler(db, new GitLabClient(config.gitlab)));
    } finally {
      release();
    }
  },
  async [MAINTENANCE_QUEUE](batch, env, ctx) {
    const { db, release } = openDatabase(env, ctx);
    try {
      const handle = backupStepHandler(db, r2BlobStore(env.BACKUPS), env.MAINTENANCE_JOBS, configOf(env).maintenance);
      await consumeBatch(batch as MessageBatch<BackupStepJob>, handle);
    } finally {
      release();
    }
  },
};

export default {
  fetch: app.fetch,
  async queue(batch, env, ctx) {
    const consume = consumers[batch.queue];
    if (!consume) throw new Error(`no consumer for queue ${batch.queue}`);
    await consume(batch, env, ctx);
  },
  async scheduled(controller, env, ctx) {
    const { db, release } = openDatabase(env, ctx);
    const now = new Date(controller.scheduledTime);
    const startBackup = async (prefix: string) => void (await env.MAINTENANCE_JOBS.send(firstBackupStep(prefix, now)));
    try {
      await runScheduledMaintenance(db, startBackup, configOf(env).maintenance, controller.cron, now);
    } finally {
      release();
    }
  },
} satisfies ExportedHandler<WorkerEnv>;
