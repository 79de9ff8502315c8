/**
 * Deadlocks on demand: Postgres aborts the next writes of a table's rows with SQLSTATE 40P01, as it
 * aborts a real deadlock's victim — which no test can time reliably. A sequence counts the writes
 * tried (its values survive the aborted transactions, so the faults run out).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/client';

/** Makes the next `times` row writes (insert or update) of `table` fail as deadlock victims; call the result to stop. */
export async function abortAsDeadlockVictims(db: Db, table: 'outputs' | 'ci_commits' | 'batches', times: number): Promise<() => Promise<void>> {
  await db.execute(sql`CREATE SEQUENCE injected_conflicts`);
  await db.execute(sql.raw(`CREATE FUNCTION abort_as_deadlock_victim() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('injected_conflicts') <= TG_ARGV[0]::int THEN
        RAISE EXCEPTION 'deadlock detected (injected)' USING ERRCODE = '40P01';
      END IF;
      RETURN NEW;
    END $$`));
  await db.execute(
    sql.raw(`CREATE TRIGGER abort_as_deadlock_victim BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION abort_as_deadlock_victim('${times}')`),
  );
  return async () => {
    await db.execute(sql.raw(`DROP TRIGGER abort_as_deadlock_victim ON ${table}`));
    await db.execute(sql`DROP FUNCTION abort_as_deadlock_victim()`);
    await db.execute(sql`DROP SEQUENCE injected_conflicts`);
  };
}
