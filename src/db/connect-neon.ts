/**
 * The production database handle: Neon's serverless driver through Drizzle, over one of its two transports.
 * - SQL over HTTP (`neon()`): each statement is one HTTPS request that Neon runs on a pooled session —
 *   no connection to open, authenticate and close per Worker request. It has no interactive
 *   transactions (a transaction whose next statement depends on the previous one's answer).
 * - WebSocket (`Pool`): a Postgres session of our own, for those transactions. In Workers a Pool cannot
 *   outlive its request: it is opened when a request first needs one, and ended with `waitUntil`.
 */
import { neon, neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle as drizzleHttp } from 'drizzle-orm/neon-http';
import { drizzle } from 'drizzle-orm/neon-serverless';
import { DEFAULT_DATABASE_TIMEOUTS, poolTimeouts, type DatabaseTimeouts, type Db } from './client';
import * as schema from './schema';

/**
 * Local development and tests only: reach a plain Postgres through `scripts/neon-ws-proxy.ts`, which
 * serves both of the driver's transports on one port — `Pool`/`Client` over WebSocket and `neon()`
 * over HTTP. Never set `NEON_WS_PROXY` in deployed configuration.
 */
export function configureNeonForProxy(proxyUrl: string) {
  neonConfig.wsProxy = (host, port) => `${proxyUrl.replace(/^wss?:\/\//, '')}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = proxyUrl.startsWith('wss:');
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false; // with pipelining, SCRAM authentication fails
  configureNeonHttpForProxy(proxyUrl);
}

/**
 * `neon()` (SQL over HTTP) posts every query to the proxy's `/sql` instead of `https://<host>/sql`;
 * the connection string it sends along names the Postgres server the proxy runs it on.
 * Takes the proxy's `ws://` address, as `configureNeonForProxy` does.
 */
export function configureNeonHttpForProxy(proxyUrl: string) {
  neonConfig.fetchEndpoint = `${proxyUrl.replace(/^ws(s?):/, 'http$1:')}/sql`;
}

export function openNeonDatabase(connectionString: string, timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS): { db: Db; pool: Pool } {
  const pool = new Pool({ connectionString, ...poolTimeouts(timeouts) });
  pool.on('error', (err: Error) => console.error('neon pool error:', err.message));
  return { db: drizzle({ client: pool, schema }), pool };
}

/**
 * A Drizzle handle whose statements go over HTTP. It holds no connection, so one serves every
 * request of an isolate (and Drizzle reads the schema once, not per request). A statement that
 * takes longer than the statement timeout is abandoned: the driver reports it as a connection
 * error, which the app answers with 503 like any unavailable database.
 */
export function neonHttpDatabase(connectionString: string, timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS): Db {
  const sql = neon(connectionString, { fullResults: true });
  const { query: send, transaction: sendBatch } = sql;
  const deadline = (fetchOptions?: Record<string, unknown>) => ({ ...fetchOptions, signal: AbortSignal.timeout(timeouts.statementTimeoutMs) });
  const query: typeof sql.query = (text, params, options) => send(text, params, { ...options, fetchOptions: deadline(options?.fetchOptions) });
  // A batch is one request: the options of its statements are not sent, its own are (their isolation:
  // statement-functions.ts `BATCH_OPTIONS`).
  const transaction: typeof sql.transaction = (queries, options) => sendBatch(queries, { ...options, fetchOptions: deadline(options?.fetchOptions) });
  // Drizzle calls `client.query` when there is one: every statement (or batch) gets its own deadline.
  const client = Object.assign(sql, { query, transaction });
  return drizzleHttp({ client, schema }) as unknown as Db;
}

/** One invocation's handle, and what ends the session it may have opened. */
export interface InvocationDatabase {
  db: Db;
  /** Whether the invocation opened a WebSocket session (an interactive transaction ran). */
  opened(): boolean;
  end(): Promise<void>;
}

/**
 * One invocation's handle on the HTTP transport: every statement over HTTP, except `db.transaction`,
 * which runs on a WebSocket `Pool` opened the first time the invocation needs one. Uploads and
 * reads are single statements (or several independent ones) and never open a session.
 */
export function withTransactionPool(http: Db, connectionString: string, timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS): InvocationDatabase {
  let session: ReturnType<typeof openNeonDatabase> | undefined;
  const db: Db = Object.create(http);
  db.transaction = (transaction, config) => (session ??= openNeonDatabase(connectionString, timeouts)).db.transaction(transaction, config);
  return { db, opened: () => session !== undefined, end: async () => session?.pool.end() };
}
