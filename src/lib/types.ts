/**
 * The types every layer above `lib/` shares: what the runtime entry provides on `c.var` and the
 * handler signature. Type-only imports: `lib/` depends on no other layer at run time.
 */
import type { RouteConfig, RouteHandler } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { FailedAuthGuard } from '../auth/failed-auth-guard';
import type { KnownCallers } from '../auth/known-callers';
import type { KeySetCache } from '../auth/key-set-cache';
import type { Caller } from '../auth/principal';
import type { AppConfig } from '../config';
import type { Db } from '../db/client';
import type { GitLabJob } from '../gitlab/jobs';
import type { RunRequestJob } from '../gitlab/run-request-jobs';
import type { CircuitBreaker } from '../ingestion/circuit-breaker';
import type { Ingestion } from '../ingestion/ingestion';
import type { JobQueue } from '../jobs/job-queue';
import type { DeleteFilesJob } from '../maintenance/file-deletions';
import type { Logger, LogRecord } from './logger';
import type { ObjectStore } from './object-store';
import type { RateLimiters } from './rate-limit';
import type { VersionedTexts } from './versioned-texts';

/** What handlers find on `c.var`, provided per request by the runtime entry. */
export interface Services {
  db: Db;
  config: AppConfig;
  rateLimiters: RateLimiters;
  /** Blocks addresses that fail authentication too often. */
  failedAuthGuard: FailedAuthGuard;
  /** Callers of recently verified tokens, for while the database is unavailable. */
  knownCallers: KnownCallers;
  /** GitLab's signing keys for CI id_tokens, cached per process or isolate. */
  keySets: KeySetCache;
  logger: Logger;
  /** The client's network address as this runtime can trust it (`unknown` when it can't tell). */
  clientAddress: string;
  /** Present when the GitLab integration is configured. */
  gitlabQueue?: JobQueue<GitLabJob>;
  /** Present when the GitLab integration is configured: run requests are dispatched as pipelines through it. */
  runRequestQueue?: JobQueue<RunRequestJob>;
  /** Takes uploads in: written at once, or spooled while the database is unavailable. */
  ingestion: Ingestion;
  /** Output files of projects in `r2` storage mode: the `ARTIFACTS` bucket, or `QABOARD_DATA_DIR/artifacts` on Node. */
  artifacts: ObjectStore;
  /** Deletes R2 files of deleted outputs and batches in the background (the maintenance queue on Workers). */
  fileDeletions: JobQueue<DeleteFilesJob>;
  /** Open while the database is known to be down: requests answer 503 at once instead of waiting. */
  databaseCircuit: CircuitBreaker;
  /** Batches' outputs as commits show them, kept per process or isolate (domain/read/commit-details.ts); absent with KEPT_OUTPUTS_MB=0. */
  keptOutputs?: VersionedTexts;
  runtimeStatus(): Promise<RuntimeStatus>;
}

/** What the runtime can tell about itself, for `/api/v1/health` and `/api/v1/version`. */
export interface RuntimeStatus {
  /** Each binding (queue, bucket, spool) the deployment needs, and whether it is there. */
  bindings: Record<string, boolean>;
  /** Uploads waiting in the spool, when the runtime can tell. */
  spoolDepth?: number;
  /** The deployed git commit, when known. */
  gitSha?: string;
}

export interface AppBindings {
  /** Worker bindings (vars, secrets, queues); on Node the entry reads `process.env` instead. */
  Bindings: object;
  Variables: Services & {
    requestId: string;
    caller: Caller;
    /** What a handler adds to the request's log line (lib/request-log.ts), e.g. why an upload was spooled. */
    logDetail?: LogRecord;
  };
}

export type AppContext = Context<AppBindings>;

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppBindings>;

/** How a runtime entry equips each request; `release` runs once the response is produced. */
export interface AppOptions {
  services(c: AppContext): { services: Services; release?: () => void };
}
