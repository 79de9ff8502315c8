/**
 * The production database handle: Neon's serverless driver (Postgres over WebSocket) through Drizzle.
 * In Workers a Pool cannot outlive its request, so the Worker opens one per request and ends it
 * with `waitUntil` once the response is sent.
 */
import { Pool, neonConfig } from '@neondatabase/serverless';
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
