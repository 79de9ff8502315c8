/**
 * How the Worker reaches Postgres, chosen once per isolate (README "Connection modes"):
 * - `neon-http` (default): one-shot statements over Neon's SQL-over-HTTP, a WebSocket session only
 *   for an interactive transaction (opened on first use, ended with the invocation).
 * - `neon-websocket`: a WebSocket session per invocation for everything (the behaviour before
 *   `neon-http`; kept for comparison and as a fallback).
 * - `hyperdrive` (when a `HYPERDRIVE` binding is configured): a connection to Hyperdrive per invocation,
 *   which keeps the database sessions pooled at the edge.
 */
import type { DatabaseTimeouts, Db } from './client';
import { openHyperdriveDatabase } from './connect-hyperdrive';
import { neonHttpDatabase, openNeonDatabase, withTransactionPool, type InvocationDatabase } from './connect-neon';

export type WorkerDatabaseMode = 'neon-http' | 'neon-websocket' | 'hyperdrive';

export type WorkerDatabaseTarget =
  | { mode: 'neon-http' | 'neon-websocket'; connectionString: string }
  | { mode: 'hyperdrive'; hyperdrive: Hyperdrive };

export interface WorkerDatabase {
  mode: WorkerDatabaseMode;
  /** A handle for one invocation (request, queue batch, cron run); `end` it once the invocation is done. */
  open(): InvocationDatabase;
}

/** A pool that connects on its first statement: ended with the invocation, whether it connected or not. */
const invocationPool = ({ db, pool }: { db: Db; pool: { end(): Promise<void> } }): InvocationDatabase => ({ db, opened: () => true, end: () => pool.end() });

export function workerDatabase(target: WorkerDatabaseTarget, timeouts: DatabaseTimeouts): WorkerDatabase {
  const { mode } = target;
  if (target.mode === 'hyperdrive') {
    const { hyperdrive } = target;
    return { mode, open: () => invocationPool(openHyperdriveDatabase(hyperdrive, timeouts)) };
  }
  const { connectionString } = target;
  if (target.mode === 'neon-websocket') return { mode, open: () => invocationPool(openNeonDatabase(connectionString, timeouts)) };
  const http = neonHttpDatabase(connectionString, timeouts);
  return { mode, open: () => withTransactionPool(http, connectionString, timeouts) };
}
