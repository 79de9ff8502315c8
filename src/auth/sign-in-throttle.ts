/**
 * Lockout with exponential backoff for password sign-ins, per user name and per client address,
 * kept in the database so that every isolate and process agrees. A locked subject is refused (429)
 * *before* its password is checked: guesses made while locked teach nothing and cost no hashing.
 *
 * - A user name is locked after 5 failures in a row: 30 s, then doubling with each further
 *   failure, at most 15 min. A success clears it. (Anyone may lock a name out for a while: the
 *   backoff caps how long, and GitLab sign-in is unaffected.)
 * - An address is locked after 20 failures, whatever the names tried, with the same backoff.
 * Failures older than an hour are forgotten.
 */
import { inArray, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client';
import { signInFailures } from '../db/schema';
import { tooManyRequests } from '../lib/problem';

/** Failures that lock a subject: the 5th in a row for a user name, the 20th for an address. */
const POLICY = { user: { lockingFailures: 5 }, address: { lockingFailures: 20 } } as const;
const FIRST_LOCK_SECONDS = 30;
const MAX_LOCK_SECONDS = 15 * 60;
const FORGET_AFTER = sql.raw(`interval '1 hour'`);

type Kind = keyof typeof POLICY;
const subject = (kind: Kind, key: string) => `${kind}:${kind === 'user' ? key.toLowerCase() : key}`;

export interface SignInSubjects {
  userName: string;
  /** The client's address key (lib/client-address.ts `addressKey`). */
  address: string;
}

const subjectsOf = ({ userName, address }: SignInSubjects) => [subject('user', userName), subject('address', address)];

/** Throws a 429 with `Retry-After` while the user name or the address is locked. */
export async function checkNotLockedOut(db: Db, subjects: SignInSubjects): Promise<void> {
  const [row] = await queryRows<{ seconds: number | null }>(
    db,
    sql`SELECT ceil(extract(epoch FROM max(${signInFailures.lockedUntil}) - now()))::int AS seconds
        FROM ${signInFailures} WHERE ${inArray(signInFailures.subject, subjectsOf(subjects))} AND ${signInFailures.lockedUntil} > now()`,
  );
  if (row?.seconds) throw tooManyRequests(row.seconds, 'Too many failed sign-ins for this user or from this address; retry later.');
}

/** Counts a failed sign-in against the user name and the address (one statement). */
export async function recordSignInFailure(db: Db, subjects: SignInSubjects): Promise<void> {
  const locking = sql.raw(`(CASE WHEN starts_with(f.subject, 'user:') THEN ${POLICY.user.lockingFailures} ELSE ${POLICY.address.lockingFailures} END)`);
  const stale = sql`f.last_failure_at < now() - ${FORGET_AFTER}`;
  const values = subjectsOf(subjects).map((name) => sql`(${name}, 1, now())`);
  await db.execute(sql`
    INSERT INTO ${signInFailures} AS f (subject, failures, last_failure_at) VALUES ${sql.join(values, sql`, `)}
    ON CONFLICT (subject) DO UPDATE SET
      failures = CASE WHEN ${stale} THEN 1 ELSE f.failures + 1 END,
      last_failure_at = now(),
      locked_until = CASE WHEN NOT ${stale} AND f.failures + 1 >= ${locking}
        THEN now() + make_interval(secs => least(${sql.raw(String(MAX_LOCK_SECONDS))}, ${sql.raw(String(FIRST_LOCK_SECONDS))} * power(2, f.failures + 1 - ${locking}))) END`);
}

/** A successful sign-in clears the user name's failures (the address keeps its count). */
export async function clearUserFailures(db: Db, userName: string): Promise<void> {
  await db.delete(signInFailures).where(inArray(signInFailures.subject, [subject('user', userName)]));
}
