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
 * Local development and tests only: reach a plain Postgres through a WebSocket→TCP proxy
 * (`scripts/neon-ws-proxy.ts`). Never set `NEON_WS_PROXY` in deployed configuration.
 */
export function configureNeonForProxy(proxyUrl: string) {
  neonConfig.wsProxy = (host, port) => `${proxyUrl.replace(/^wss?:\/\//, '')}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = proxyUrl.startsWith('wss:');
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false; // with pipelining, SCRAM authentication fails
}

export function openNeonDatabase(connectionString: string, timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS): { db: Db; pool: Pool } {
  const pool = new Pool({ connectionString, ...poolTimeouts(timeouts) });
  pool.on('error', (err: Error) => console.error('neon pool error:', err.message));
  return { db: drizzle({ client: pool, schema }), pool };
}
