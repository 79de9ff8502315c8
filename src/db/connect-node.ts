/**
 * Databases for the Node entry, tests and scripts: a Postgres server through node-postgres, or the
 * embedded default — PGlite (Postgres in WebAssembly) persisted in a folder. Both get the drizzle-kit
 * migrations applied before use.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Db } from './client';
import * as schema from './schema';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

export interface NodeDatabase {
  db: Db;
  /** Where the data lives, for logs (never includes a password). */
  description: string;
  close(): Promise<void>;
}

export type NodeDatabaseOptions =
  | { kind: 'postgres'; url: string; maxConnections?: number }
  /** `dataDir` undefined = in memory (tests). */
  | { kind: 'pglite'; dataDir?: string; client?: PGlite };

export async function connectNodeDatabase(options: NodeDatabaseOptions): Promise<NodeDatabase> {
  if (options.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
    pool.on('error', (err) => console.error('postgres pool error:', err.message));
    const db = drizzlePg({ client: pool, schema });
    await migratePg(db, { migrationsFolder: MIGRATIONS_FOLDER });
    const url = new URL(options.url);
    return { db, description: `postgres://${url.host}${url.pathname}`, close: () => pool.end() };
  }
  if (options.dataDir) mkdirSync(path.dirname(options.dataDir), { recursive: true });
  const client = options.client ?? (await PGlite.create(options.dataDir));
  const db = drizzlePglite({ client, schema });
  await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    db,
    description: options.dataDir ? `embedded PGlite in ${options.dataDir}` : 'embedded PGlite in memory',
    close: () => client.close(),
  };
}
