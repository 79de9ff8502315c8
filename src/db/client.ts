import { entityKind, is, type SQL } from 'drizzle-orm';
import { PgDialect, PgTransaction, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { databaseFailure } from '../lib/database-failure';
import type * as schema from './schema';
import { functionBatch, functionRows } from './statement-functions';

/** A Drizzle handle on any of our drivers: Neon (Workers), node-postgres, PGlite. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Runs raw SQL and returns its rows. Every driver we use answers `{ rows }`. */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

export interface DatabaseTimeouts {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { connectTimeoutMs: 5_000, statementTimeoutMs: 20_000 };

/**
 * Options for a node-postgres-compatible pool (pg, Neon's) so that a database that doesn't answer
 * fails the request (503) instead of hanging it. The timeout is the client's: it also covers a
 * server that accepted the connection and then went silent. A timed-out connection is discarded.
 */
export const poolTimeouts = (timeouts: DatabaseTimeouts) => ({
  connectionTimeoutMillis: timeouts.connectTimeoutMs,
  query_timeout: timeouts.statementTimeoutMs,
});

/** A JSON value as a query parameter (cast it with `::jsonb`); SQL NULL when absent. */
export const jsonParam = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

const dialect = new PgDialect();

/** Names given so far, by statement text: few distinct texts, and V8 hashes a string natively, faster than a hash in JS. */
const statementNames = new Map<string, string>();
const MAX_STATEMENT_NAMES = 1_000;

/** FNV-1a of a statement's text: its prepared statement's name. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name) return name;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  name = `q${(hash >>> 0).toString(36)}_${text.length}`;
  if (statementNames.size >= MAX_STATEMENT_NAMES) statementNames.clear();
  statementNames.set(text, name);
  return name;
}

/**
 * Sessions whose connections outlive a request: node-postgres' pool on the Node entry. A named
 * prepared statement is worth its name only there — Postgres then parses and plans it once per
 * connection, not per call (an upload's statement took ~8 ms to plan and ~3 ms to run). The Worker
 * connects per request, so a name saves nothing; and on PGlite served over the wire (`npm run dev`,
 * the Worker tests without Postgres) every connection shares PGlite's one session, where a name
 * prepared by an earlier connection makes the next one fail with 42P05.
 */
const SESSIONS_KEEPING_STATEMENTS = new Set(['NodePgSession']);

/**
 * `queryRows` for the hot statements, sent so that Postgres need not plan them on every call: a named
 * prepared statement (named by a hash of its text, so a statement that differs gets its own name)
 * where the session keeps them; over Neon's SQL over HTTP, the call of a function that keeps its plan
 * (statement-functions.ts); as usual elsewhere.
 */
export async function preparedRows<T>(db: Db, query: SQL): Promise<T[]> {
  const session = db._.session;
  const kind = sessionKind(db);
  if (kind === 'NeonHttpSession') return functionRows<T>(db, query);
  if (!kind || !SESSIONS_KEEPING_STATEMENTS.has(kind)) return queryRows<T>(db, query);
  const compiled = dialect.sqlToQuery(query);
  const result = await session.prepareQuery(compiled, undefined, statementName(compiled.sql), false).execute();
  return (result as unknown as { rows: T[] }).rows;
}

const sessionKind = (db: Db) => (db._.session.constructor as unknown as { [entityKind]?: string })[entityKind];

/** Whether `readBatch` sends its statements as one request (Neon's SQL over HTTP); elsewhere they run one after the other. */
export const sendsBatchesTogether = (db: Db) => sessionKind(db) === 'NeonHttpSession';

/**
 * Runs statements that don't depend on each other's answers and returns their rows in order. Over
 * Neon's SQL over HTTP every statement is a round trip of its own: there they go as one request
 * (Neon's non-interactive batch: one read-only REPEATABLE READ transaction, so one snapshot).
 * Elsewhere a statement costs no request of its own and they run one after the other. Either way,
 * as `preparedRows` sends them.
 */
export async function readBatch(db: Db, queries: SQL[]): Promise<unknown[][]> {
  // A batch of one would only wrap its statement in BEGIN / COMMIT.
  if (queries.length > 1 && sendsBatchesTogether(db)) return functionBatch(db, queries);
  const rows: unknown[][] = [];
  for (const query of queries) rows.push(await preparedRows(db, query));
  return rows;
}

/**
 * Sends statements that don't depend on each other's answers as one atomic write over Neon's SQL over
 * HTTP (where `sendsBatchesTogether`): one request, one READ COMMITTED transaction. There an interactive
 * transaction (`db.transaction`) opens a WebSocket session of its own: a connection, its authentication
 * and a Postgres session, for a few statements. Returns their rows in order.
 */
export function writeBatch(db: Db, queries: SQL[]): Promise<unknown[][]> {
  if (!sendsBatchesTogether(db)) throw new Error("writeBatch sends over Neon's SQL over HTTP only: elsewhere, use a transaction");
  return functionBatch(db, queries, 'write');
}

/** A Postgres array literal of ids, to pass as one parameter: `= ANY(${intArrayLiteral(ids)}::int[])`. */
export const intArrayLiteral = (ids: number[]) => `{${ids.map((id) => Math.trunc(id)).join(',')}}`;

/** Whether `db` is a transaction: there a statement Postgres aborted has aborted the whole transaction. */
export const inTransaction = (db: Db) => is(db, PgTransaction);

/**
 * Runs a transaction (or savepoint) that `run` opens itself again when Postgres aborted it as a
 * deadlock victim or for a serialization failure: rolled back whole, it can run again — the retry
 * `retryOnConcurrentCreate` leaves to the transaction's owner. `attempts` in all.
 */
export async function retryConflicts<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (error) {
      if (i === attempts || !databaseFailure(error)?.conflict) throw error;
    }
  }
}

/**
 * Runs an idempotent statement again when a concurrent transaction got in the way: it returned
 * nothing because a row it needs was created by a transaction its snapshot can't see (see
 * domain/commits/record-commit.ts), or Postgres aborted it as a deadlock victim. Inside a
 * transaction a conflict is not retried here: it aborted the whole transaction, where the statement
 * could only fail again (25P02); whoever owns the transaction runs it again.
 */
export async function retryOnConcurrentCreate<T>(db: Db, attempt: () => Promise<T | undefined>, attempts = 4): Promise<T> {
  const retriesConflicts = !inTransaction(db);
  for (let i = 1; i <= attempts; i++) {
    let result: T | undefined;
    try {
      result = await attempt();
    } catch (error) {
      if (i < attempts && retriesConflicts && databaseFailure(error)?.conflict) continue;
      throw error;
    }
    if (result !== undefined) return result;
  }
  throw new Error(`the statement still found no row after ${attempts} attempts`);
}
