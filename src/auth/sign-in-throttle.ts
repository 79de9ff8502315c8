/**
 * Password sign-ins (and sign-ups) are throttled in the database, so that every isolate and
 * process agrees. Hashing a password is the expensive part (passwords.ts), so everything here is
 * decided before it:
 * - attempts per address: at most `perMinute` (SIGN_IN_ATTEMPTS_PER_MINUTE) sign-ins and sign-ups,
 *   counted atomically before the hash — a flood is cut at the limit whatever its concurrency;
 * - failures per (user name, address): the 5th in a row locks the pair for 30 s, doubling with each
 *   further failure, at most 15 min. A guesser locks out only himself, never the real user;
 * - failures per address: the 20th locks the address (whatever the names), same backoff;
 * - failures per user name from anywhere: the 10th delays the name 1 s, doubling, at most 30 s — a
 *   bounded delay, not a lock: guesses spread over many addresses get one per 30 s, and the real
 *   user waits at most that long.
 * A locked subject is refused (429, Retry-After) before its password is checked; a success clears
 * the user name's failures (the address keeps its count). Failures older than an hour are forgotten.
 */
import { inArray, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client';
import { signInFailures } from '../db/schema';
import { tooManyRequests } from '../lib/problem';

/** Per kind of subject: the failure that first locks it, that lock's length, and the longest lock. */
const POLICY = {
  pair: { lockingFailures: 5, firstLockSeconds: 30, maxLockSeconds: 15 * 60 },
  address: { lockingFailures: 20, firstLockSeconds: 30, maxLockSeconds: 15 * 60 },
  user: { lockingFailures: 10, firstLockSeconds: 1, maxLockSeconds: 30 },
} as const;
const FORGET_AFTER = sql.raw(`interval '1 hour'`);
const ATTEMPT_WINDOW = sql.raw(`interval '1 minute'`);

type Kind = keyof typeof POLICY;

export interface SignInSubjects {
  userName: string;
  /** The client's address key (lib/client-address.ts `addressKey`). */
  address: string;
}

const subjectsOf = ({ userName, address }: SignInSubjects) => {
  const user = userName.toLowerCase();
  return [`pair:${address}|${user}`, `address:${address}`, `user:${user}`];
};

/** `CASE <kind of f.subject> WHEN 'pair' THEN … END` for one number of the policy. */
const byKind = (pick: (policy: (typeof POLICY)[Kind]) => number) =>
  sql.raw(`(CASE split_part(f.subject, ':', 1) ${Object.entries(POLICY).map(([kind, policy]) => `WHEN '${kind}' THEN ${pick(policy)}`).join(' ')} END)`);

/** Throws a 429 with `Retry-After` while the pair, the address or the user name is locked. */
export async function checkNotLockedOut(db: Db, subjects: SignInSubjects): Promise<void> {
  const [row] = await queryRows<{ seconds: number | null }>(
    db,
    sql`SELECT ceil(extract(epoch FROM max(${signInFailures.lockedUntil}) - now()))::int AS seconds
        FROM ${signInFailures} WHERE ${inArray(signInFailures.subject, subjectsOf(subjects))} AND ${signInFailures.lockedUntil} > now()`,
  );
  if (row?.seconds) throw tooManyRequests(row.seconds, 'Too many failed sign-ins for this user or from this address; retry later.');
}

/**
 * Counts an attempt (sign-in or sign-up) from `address` in the current minute, and throws a 429
 * once there were more than `perMinute`. Its row (`attempts:<address>`) holds the count in
 * `failures` and the window's start in `last_failure_at`.
 */
export async function admitAttempt(db: Db, address: string, perMinute: number): Promise<void> {
  const fresh = sql`f.last_failure_at > now() - ${ATTEMPT_WINDOW}`;
  const [row] = await queryRows<{ attempts: number; seconds: number }>(
    db,
    sql`INSERT INTO ${signInFailures} AS f (subject, failures, last_failure_at) VALUES (${`attempts:${address}`}, 1, now())
        ON CONFLICT (subject) DO UPDATE SET
          failures = CASE WHEN ${fresh} THEN f.failures + 1 ELSE 1 END,
          last_failure_at = CASE WHEN ${fresh} THEN f.last_failure_at ELSE now() END
        RETURNING failures AS attempts, greatest(1, ceil(extract(epoch FROM last_failure_at + ${ATTEMPT_WINDOW} - now())))::int AS seconds`,
  );
  if (row!.attempts > perMinute) throw tooManyRequests(row!.seconds, `More than ${perMinute} sign-in attempts a minute from this address; retry later.`);
}

/** Counts a failed sign-in against the pair, the address and the user name (one statement). */
export async function recordSignInFailure(db: Db, subjects: SignInSubjects): Promise<void> {
  const locking = byKind((p) => p.lockingFailures);
  const stale = sql`f.last_failure_at < now() - ${FORGET_AFTER}`;
  const values = subjectsOf(subjects).map((name) => sql`(${name}, 1, now())`);
  await db.execute(sql`
    INSERT INTO ${signInFailures} AS f (subject, failures, last_failure_at) VALUES ${sql.join(values, sql`, `)}
    ON CONFLICT (subject) DO UPDATE SET
      failures = CASE WHEN ${stale} THEN 1 ELSE f.failures + 1 END,
      last_failure_at = now(),
      locked_until = CASE WHEN NOT ${stale} AND f.failures + 1 >= ${locking}
        THEN now() + make_interval(secs => least(${byKind((p) => p.maxLockSeconds)}, ${byKind((p) => p.firstLockSeconds)} * power(2, f.failures + 1 - ${locking}))) END`);
}

/** A successful sign-in clears the user name's failures, from this address and from anywhere (the address keeps its count). */
export async function clearUserFailures(db: Db, subjects: SignInSubjects): Promise<void> {
  const [pair, , user] = subjectsOf(subjects);
  await db.delete(signInFailures).where(inArray(signInFailures.subject, [pair!, user!]));
}
