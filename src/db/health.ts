import { sql } from 'drizzle-orm';
import { SCHEMA_VERSION } from './schema-version';
import { queryRows, type Db } from './client';
import { databaseFailure } from '../lib/database-failure';
import journal from '../../drizzle/meta/_journal.json';

export interface DatabaseHealth {
  ok: boolean;
  /** One round trip, in milliseconds. */
  latency_ms: number;
  /** The latest migration applied to the database, and the one this code expects. */
  schema: { applied: string | null; expected: string };
  error?: string;
}

/** The tag of the migration drizzle recorded last (its `created_at` is the journal entry's `when`). */
const tagOfMigration = (createdAt: number | null) => journal.entries.find((entry) => entry.when === Number(createdAt))?.tag ?? null;

/** One round trip to the database, reading which migration it is at. */
export async function databaseHealth(db: Db): Promise<DatabaseHealth> {
  const started = performance.now();
  try {
    const [row] = await queryRows<{ created_at: number | null }>(
      db,
      sql`SELECT (SELECT max(created_at) FROM drizzle.__drizzle_migrations) AS created_at`,
    );
    const applied = tagOfMigration(row?.created_at ?? null);
    const latency = Math.round((performance.now() - started) * 10) / 10;
    return { ok: applied === SCHEMA_VERSION, latency_ms: latency, schema: { applied, expected: SCHEMA_VERSION } };
  } catch (error) {
    const failure = databaseFailure(error);
    return {
      ok: false,
      latency_ms: Math.round((performance.now() - started) * 10) / 10,
      schema: { applied: null, expected: SCHEMA_VERSION },
      error: failure ? `${failure.code ?? ''} ${failure.message}`.trim() : 'the database did not answer',
    };
  }
}
