/**
 * The app as a Node process serves it (the Node entry, tests, scripts): rate limits in memory,
 * client addresses from the socket — or from trusted proxies' `X-Forwarded-For` — and uploads
 * grouped into shared transactions (group commit), spooled to a file in the data folder while
 * the database is unavailable.
 */
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from './app';
import { failedAuthGuard } from './auth/failed-auth-guard';
import { KnownCallers } from './auth/known-callers';
import { keySetCache } from './auth/key-set-cache';
import type { AppConfig, RuntimeDefaults } from './config';
import type { Db } from './db/client';
import type { VerdictJob } from './gitlab/verdict-job';
import { backfillHook } from './ingestion/backfill-hook';
import { batchCompleter } from './ingestion/complete-batches';
import { CircuitBreaker } from './ingestion/circuit-breaker';
import { fileSpool } from './ingestion/file-spool';
import { Ingestion } from './ingestion/ingestion';
import { NODE_GATHER_MS, outputCoalescer } from './ingestion/output-coalescer';
import { receiptClock } from './ingestion/receipts';
import { startSpoolDrain } from './ingestion/spool-drain';
import { InProcessQueue } from './jobs/in-process-queue';
import type { JobQueue } from './jobs/job-queue';
import { clientAddress } from './lib/client-address';
import { folderObjectStore } from './lib/folder-object-store';
import { consoleLogger } from './lib/logger';
import { memoryRateLimiter, memoryRateLimiters } from './lib/rate-limit';
import { versionedTexts } from './lib/versioned-texts';
import { MAINTENANCE_QUEUE } from './maintenance/backup-chain';
import { deleteFilesHandler, type DeleteFilesJob } from './maintenance/file-deletions';
import type { Services } from './lib/types';

/** On a laptop the embedded default is a local tool: open, with a warning at start (see announceAuthMode). */
export const NODE_DEFAULTS: RuntimeDefaults = { authMode: 'open', keptOutputsMb: 32 };

export interface NodeAppOptions extends Partial<Pick<Services, 'gitlabQueue' | 'runRequestQueue' | 'logger'>> {
  /** Regression verdicts posted to GitLab when batches complete (ingestion/complete-batches.ts). */
  verdictQueue?: JobQueue<VerdictJob>;
  /** Where the spool lives (the Node entry: `QABOARD_DATA_DIR/spool`); default: a new temporary folder. */
  spoolFolder?: string;
  /** Where output files of `r2`-mode projects live (the Node entry: `QABOARD_DATA_DIR/artifacts`); default: a new temporary folder. */
  artifactsFolder?: string;
  /** The git commit being served, when the entry knows it (else GIT_SHA). */
  gitSha?: string;
  /** Until it resolves (the database answered and is migrated), the database is treated as down. */
  databaseReady?: Promise<void>;
}

export function nodeApp(db: Db, config: AppConfig, { spoolFolder, artifactsFolder, gitSha, databaseReady, verdictQueue, ...extra }: NodeAppOptions = {}) {
  const logger = extra.logger ?? consoleLogger;
  const folder = spoolFolder ?? mkdtempSync(path.join(tmpdir(), 'qaboard-spool-'));
  const spool = fileSpool(folder);
  const databaseCircuit = new CircuitBreaker(config.circuit);
  if (databaseReady) databaseCircuit.holdOpenUntil(databaseReady);
  const hooks = { ...backfillHook(extra.gitlabQueue, logger), completeBatches: batchCompleter(verdictQueue, logger) };
  const spoolDrain = startSpoolDrain(spool, { db, hooks, breaker: databaseCircuit, logger, folder });
  const writeOutput = outputCoalescer(config.files.defaultMode, { gatherMs: NODE_GATHER_MS });
  const ingestion = new Ingestion({
    db,
    writeOutput: (upload, abandoned) => writeOutput(db, upload, abandoned),
    // Bulk uploads are written as soon as they are spooled.
    spool: { ...spool, append: async (messages) => (await spool.append(messages), spoolDrain.kick()) },
    breaker: databaseCircuit,
    receivedAt: receiptClock(),
    deadlineMs: config.ingestion.deadlineMs,
    written: hooks.written,
    completeBatches: hooks.completeBatches,
  });
  const artifacts = folderObjectStore(artifactsFolder ?? mkdtempSync(path.join(tmpdir(), 'qaboard-artifacts-')));
  const fileDeletions = new InProcessQueue<DeleteFilesJob>({ name: MAINTENANCE_QUEUE, maxRetries: 5 });
  fileDeletions.consume(deleteFilesHandler(db, artifacts, fileDeletions));
  const shared = {
    db,
    config,
    rateLimiters: memoryRateLimiters(config.rateLimits),
    failedAuthGuard: failedAuthGuard(memoryRateLimiter(config.rateLimits.authFailuresPerMinute)),
    knownCallers: new KnownCallers(),
    keySets: keySetCache(),
    keptOutputs: versionedTexts(config.keptOutputsBytes),
    logger,
    gitlabQueue: extra.gitlabQueue,
    runRequestQueue: extra.runRequestQueue,
    ingestion,
    databaseCircuit,
    artifacts,
    fileDeletions,
    async runtimeStatus() {
      const spoolDepth = await spool.depth().catch(() => undefined);
      return { bindings: { spool: spoolDepth !== undefined }, spoolDepth, gitSha: config.gitSha ?? gitSha };
    },
  };
  const app = buildApp({
    services(c) {
      // @hono/node-server passes the Node request as `c.env.incoming` (absent under app.request in tests).
      const socket = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
      const address = clientAddress(socket?.remoteAddress, c.req.header('x-forwarded-for'), config.trustedProxyHops);
      return { services: { ...shared, clientAddress: address } };
    },
  });
  return Object.assign(app, { spool, spoolDrain, fileDeletions });
}
