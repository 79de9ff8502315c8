import { lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { sessions, signInFailures } from '../db/schema';

/** Deletes ended sessions and sign-in failures nobody counts any more (an hour old and not locking). */
export async function reapExpiredSignIns(db: Db, now: Date): Promise<void> {
  const at = now.toISOString();
  const ended = await db.delete(sessions).where(lt(sessions.expires_at, at)).returning({ digest: sessions.digest });
  await db
    .delete(signInFailures)
    .where(sql`${signInFailures.lastFailureAt} < ${at}::timestamptz - interval '1 hour' AND coalesce(${signInFailures.lockedUntil} < ${at}::timestamptz, true)`);
  console.log(`sign-ins: deleted ${ended.length} ended sessions`);
}
