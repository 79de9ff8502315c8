/**
 * Databases for the Node entry, tests and scripts: a Postgres server through node-postgres, or the
 * embedded default — PGlite (Postgres in WebAssembly) persisted in a folder, which one process at a
 * time may open (data-folder-lock.ts). Both get the drizzle-kit migrations applied before use.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { DEFAULT_DATABASE_TIMEOUTS, poolTimeouts, type DatabaseTimeouts, type Db } from './client';
import { lockDataFolder, type DataFolderLock } from './data-folder-lock';
import { createDataFolderFromTemplate, readTemplateTar } from './pglite-template';
import * as schema from './schema';

/** The repository: the nearest folder above this module with drizzle/ (also when it runs bundled, from .cache/). */
function findRepoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'drizzle', 'meta', '_journal.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error('drizzle/ (the migrations) not found above ' + import.meta.url);
  }
}

export const REPO_ROOT = findRepoRoot();
export const MIGRATIONS_FOLDER = path.join(REPO_ROOT, 'drizzle');

/** The lock file of a PGlite folder: beside it, so the folder itself holds nothing but Postgres' files. */
export const lockFileOf = (dataDir: string) => `${dataDir}.lock`;

export interface NodeDatabase {
  db: Db;
  /** Resolves once the database answered and is migrated (at once, unless it was unreachable at start). */
  ready: Promise<void>;
  /** Where the data lives, for logs (never includes a password). */
  description: string;
  /** PGlite only: the instance itself, one session for raw SQL (a restore runs in it). */
  pglite?: PGlite;
  /** PGlite in a folder only: this process's ownership of it. */
  lock?: DataFolderLock;
  close(): Promise<void>;
}

export type NodeDatabaseOptions =
  | {
      kind: 'postgres';
      url: string;
      maxConnections?: number;
      timeouts?: DatabaseTimeouts;
      /**
       * The Node entry: don't wait for a database that is down at start — answer at once (uploads
       * spool, reads 503) and keep trying to migrate it in the background, reporting each failure.
       */
      untilReachable?: (error: unknown, retryInMs: number) => void;
    }
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
    // A connection lost while a client is checked out emits 'error' on that client, which would crash
    // the process unheard; the query in flight fails on its own (and the client is discarded).
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = drizzlePg({ client: pool, schema });
    const migrate = () => migratePg(db, { migrationsFolder: MIGRATIONS_FOLDER });
    const ready = options.untilReachable ? retryUntilDone(migrate, options.untilReachable) : migrate();
    if (!options.untilReachable) await ready;
    const url = new URL(options.url);
    return { db, ready, description: `postgres://${url.host}${url.pathname}`, close: () => pool.end() };
  }
  const { dataDir } = options;
  if (dataDir) mkdirSync(path.dirname(dataDir), { recursive: true });
  const lock = dataDir ? lockDataFolder(lockFileOf(dataDir), dataDir) : undefined;
  const opening = options.client ? Promise.resolve(options.client) : openPglite(dataDir);
  try {
    const [client, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
      opening,
      import('drizzle-orm/pglite'),
      import('drizzle-orm/pglite/migrator'),
    ]);
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    return {
      db,
      ready: Promise.resolve(),
      pglite: client,
      lock,
      description: dataDir ? `embedded PGlite in ${dataDir}` : 'embedded PGlite in memory',
      close: async () => {
        await client.close();
        lock?.release();
      },
    };
  } catch (error) {
    if (!options.client) await opening.then((client) => client.close()).catch(() => {});
    lock?.release();
    throw error;
  }
}

/** Runs `work` until it succeeds, waiting 1 s, 2 s, 4 s… (at most 30 s) between attempts. */
async function retryUntilDone(work: () => Promise<void>, onRetry: (error: unknown, retryInMs: number) => void): Promise<void> {
  for (let delay = 1_000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      return await work();
    } catch (error) {
      onRetry(error, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Postgres' default 128 MB of shared buffers is most of an idle PGlite's memory (its WebAssembly heap
 * never shrinks). The embedded database is small and PGlite reads its files through the OS page cache,
 * so 16 MB cost nothing measurable and keep the Node entry under 250 MB (scripts/bench-startup.ts).
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB'];

/** A new database starts from the pre-built template (pglite-template.ts), never from initdb when one exists. */
async function openPglite(dataDir: string | undefined): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const options: PGliteOptions = { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS] };
  if (dataDir) {
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await createDataFolderFromTemplate(REPO_ROOT, dataDir);
    return PGlite.create(dataDir, options);
  }
  const template = readTemplateTar(REPO_ROOT);
  return PGlite.create({ ...options, ...(template && { loadDataDir: new Blob([template as Uint8Array<ArrayBuffer>]) }) });
}
