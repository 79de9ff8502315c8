/**
 * Databases for the Node entry, tests and scripts: a Postgres server through node-postgres, or the
 * embedded default — PGlite (Postgres in WebAssembly) persisted in a folder. Both get the drizzle-kit
 * migrations applied before use.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { DEFAULT_DATABASE_TIMEOUTS, poolTimeouts, type DatabaseTimeouts, type Db } from './client';
import * as schema from './schema';

/** drizzle/ of the repository: the nearest one above this module (also when it runs bundled, from .cache/). */
function findMigrationsFolder(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'drizzle', 'meta', '_journal.json'))) return path.join(dir, 'drizzle');
    if (path.dirname(dir) === dir) throw new Error('drizzle/ (the migrations) not found above ' + import.meta.url);
  }
}

export const MIGRATIONS_FOLDER = findMigrationsFolder();

export interface NodeDatabase {
  db: Db;
  /** Where the data lives, for logs (never includes a password). */
  description: string;
  close(): Promise<void>;
}

export type NodeDatabaseOptions =
  | { kind: 'postgres'; url: string; maxConnections?: number; timeouts?: DatabaseTimeouts }
  /** `dataDir` undefined = in memory (tests). */
  | { kind: 'pglite'; dataDir?: string; client?: PGlite };

export async function connectNodeDatabase(options: NodeDatabaseOptions): Promise<NodeDatabase> {
  // Each driver is loaded only when used: PGlite's WebAssembly Postgres alone weighs tens of MB.
  if (options.kind === 'postgres') {
    const [{ default: pg }, { drizzle: drizzlePg }, { migrate: migratePg }] = await Promise.all([
      import('pg'),
      import('drizzle-orm/node-postgres'),
      import('drizzle-orm/node-postgres/migrator'),
    ]);
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      ...poolTimeouts(options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS),
    });
    pool.on('error', (err) => console.error('postgres pool error:', err.message));
    const db = drizzlePg({ client: pool, schema });
    await migratePg(db, { migrationsFolder: MIGRATIONS_FOLDER });
    const url = new URL(options.url);
    return { db, description: `postgres://${url.host}${url.pathname}`, close: () => pool.end() };
  }
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
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
