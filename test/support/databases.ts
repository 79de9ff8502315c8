/**
 * The Postgres engines database tests run on. Always embedded PGlite (so `npm test` passes on a
 * fresh machine); with TEST_DATABASE_URL also a real Postgres server through node-postgres AND
 * through the production Neon driver (via the local WebSocket proxy).
 * Each test file gets its own scratch database, so files can run in parallel.
 */
import { randomBytes } from 'node:crypto';
import { Pool as NeonPool, neonConfig } from '@neondatabase/serverless';
import { drizzle as drizzleNeon } from 'drizzle-orm/neon-serverless';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import ws from 'ws';
import { startNeonWsProxy } from '../../scripts/neon-ws-proxy';
import { DEFAULT_DATABASE_TIMEOUTS, poolTimeouts, queryRows, type DatabaseTimeouts, type Db } from '../../src/db/client';
import { configureNeonForProxy, neonHttpDatabase, withTransactionPool } from '../../src/db/connect-neon';
import { connectNodeDatabase } from '../../src/db/connect-node';
import * as schema from '../../src/db/schema';

export type EngineName = 'pglite' | 'pg' | 'neon';
/**
 * The Worker's default transport, Neon's SQL over HTTP (`neonHttpDatabase`, a WebSocket session only for
 * interactive transactions): for tests of the paths that differ on it; not one of `engineNames`.
 */
export const NEON_HTTP = 'neon-http' as const;

export interface TestDatabase {
  db: Db;
  close(): Promise<void>;
}

export const engineNames: EngineName[] = process.env.TEST_DATABASE_URL ? ['pglite', 'pg', 'neon'] : ['pglite'];

/** A new, migrated, empty database on a Postgres server; dropped on close. */
export async function createScratchDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `qaboard_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface TestDatabaseOptions {
  /** Rewrites the server's connection string (fault tests route it through a proxy they control). */
  urlFor?: (url: string) => string;
  timeouts?: DatabaseTimeouts;
}

export async function openTestDatabase(engine: EngineName | typeof NEON_HTTP, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  if (engine === 'pglite') return connectNodeDatabase({ kind: 'pglite' });
  const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
  const url = options.urlFor?.(scratch.url) ?? scratch.url;
  const migrated = await connectNodeDatabase({ kind: 'postgres', url, maxConnections: 20, timeouts: options.timeouts });
  if (engine === 'pg') {
    return { db: migrated.db, close: async () => (await migrated.close(), await scratch.drop()) };
  }
  await migrated.close();
  const proxy = await startNeonWsProxy();
  neonConfig.webSocketConstructor = ws;
  configureNeonForProxy(proxy.url);
  if (engine === NEON_HTTP) {
    const invocation = withTransactionPool(neonHttpDatabase(url, options.timeouts), url, options.timeouts);
    return { db: invocation.db, close: async () => (await invocation.end(), await proxy.close(), await scratch.drop()) };
  }
  const pool = new NeonPool({ connectionString: url, max: 20, ...poolTimeouts(options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS) });
  pool.on('error', () => {}); // idle connections dropped at teardown
  return {
    db: drizzleNeon({ client: pool, schema }),
    async close() {
      await pool.end();
      await proxy.close();
      await scratch.drop();
    },
  };
}

const TABLES = ['projects', 'ci_commits', 'batches', 'test_inputs', 'outputs'] as const;
export type RowCounts = Record<(typeof TABLES)[number], number>;

export async function rowCounts(db: Db): Promise<RowCounts> {
  const [row] = await queryRows<RowCounts>(
    db,
    sql.raw(`SELECT ${TABLES.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`),
  );
  return row!;
}

export async function emptyTables(db: Db) {
  await db.execute(sql.raw(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE`));
}
