/**
 * `Idempotency-Key` on POST ingestion routes (IETF httpapi draft, as Stripe does it): the first
 * request with a key runs and its response is stored; the same key and payload again replays it;
 * another payload under the key → 422; while the first is still running → 409. Keys belong to the
 * caller (token) and expire after 24 h. Claiming a key is one INSERT … ON CONFLICT: no races.
 *
 * A claim is a lease: the request holding it renews it while it runs, so when its process dies
 * (a crash, an evicted isolate) the key is free again within seconds instead of blocking retries.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Db } from '../db/client';
import { idempotencyKeys } from '../db/schema';
import { sha256Hex } from '../lib/digest';
import { ApiError, invalidField } from '../lib/problem';
import { routingPath } from '../lib/routing-path';
import type { AppBindings } from '../lib/types';

export const IDEMPOTENCY_KEY_TTL_HOURS = 24;
/** A key: 1 to 255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const IDEMPOTENCY_KEY_DESCRIPTION =
  'Makes a retry safe: the same key with the same payload replays the stored response (header `Idempotency-Replayed: true`). ' +
  `Keys are per token and expire after ${IDEMPOTENCY_KEY_TTL_HOURS} h.`;

/**
 * The header in the routes' documentation. It is checked here, by `idempotent`, before any validator runs,
 * so it is a parameter and not a header schema: Hono's header validator would copy every header of every
 * upload into an object, for a field already checked.
 */
export const idempotencyKeyParameter = {
  name: 'idempotency-key',
  in: 'header',
  required: false,
  description: IDEMPOTENCY_KEY_DESCRIPTION,
  schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source, example: '3f6c1e9a-run-42' },
} as const;
/** How long a claim holds without renewal; the holder renews it every third of that. */
export const IDEMPOTENCY_LEASE_SECONDS = 10;

const expired = sql`${idempotencyKeys.createdAt} < now() - make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS})`;
const abandoned = sql`(${idempotencyKeys.responseStatus} IS NULL AND ${idempotencyKeys.leaseExpiresAt} < now())`;
const newLease = sql`now() + make_interval(secs => ${IDEMPOTENCY_LEASE_SECONDS})`;

/** Claims the key for this request; false when a live claim (in flight or answered) holds it. */
async function claimKey(db: Db, caller: string, key: string, requestDigest: string): Promise<boolean> {
  const claimed = await db
    .insert(idempotencyKeys)
    .values({ caller, key, requestDigest, leaseExpiresAt: newLease })
    .onConflictDoUpdate({
      target: [idempotencyKeys.caller, idempotencyKeys.key],
      set: { requestDigest, createdAt: sql`now()`, leaseExpiresAt: newLease, responseStatus: null, responseContentType: null, responseBody: null },
      setWhere: sql`${expired} OR ${abandoned}`,
    })
    .returning({ key: idempotencyKeys.key });
  return claimed.length === 1;
}

const keyOf = (caller: string, key: string) => and(eq(idempotencyKeys.caller, caller), eq(idempotencyKeys.key, key));

/** Renews the lease while `work` runs. */
async function holdingLease<T>(db: Db, caller: string, key: string, work: () => Promise<T>): Promise<T> {
  const renew = () =>
    db
      .update(idempotencyKeys)
      .set({ leaseExpiresAt: newLease })
      .where(and(keyOf(caller, key), sql`${idempotencyKeys.responseStatus} IS NULL`))
      .catch(() => {}); // a missed renewal only shortens the lease
  const timer = setInterval(renew, (IDEMPOTENCY_LEASE_SECONDS * 1000) / 3);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export const idempotent: MiddlewareHandler<AppBindings> = async (c, next) => {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return next();
  if (!IDEMPOTENCY_KEY.test(key)) throw invalidField('Idempotency-Key', 'must be 1 to 255 visible ASCII characters');
  const db = c.get('db');
  const caller = c.get('caller').id;
  const requestDigest = await sha256Hex(`${c.req.method} ${routingPath(c.req.raw)}\n${await c.req.text()}`);

  if (!(await claimKey(db, caller, key, requestDigest))) {
    const [stored] = await db.select().from(idempotencyKeys).where(keyOf(caller, key));
    if (stored && stored.requestDigest !== requestDigest) {
      throw new ApiError(422, 'This Idempotency-Key was already used with another request payload.');
    }
    if (!stored || stored.responseStatus === null) {
      throw new ApiError(409, 'A request with this Idempotency-Key is still in progress; retry later.', {
        headers: { 'retry-after': String(IDEMPOTENCY_LEASE_SECONDS) },
      });
    }
    return c.body(stored.responseBody ?? '', {
      status: stored.responseStatus as ContentfulStatusCode,
      headers: { 'content-type': stored.responseContentType ?? 'application/json', 'idempotency-replayed': 'true' },
    });
  }

  await db.delete(idempotencyKeys).where(expired); // keep the table to a day of keys
  await holdingLease(db, caller, key, next);
  if (c.res.status >= 500) {
    // A server failure isn't an answer: free the key so that the client's retry runs.
    await db.delete(idempotencyKeys).where(keyOf(caller, key));
    return;
  }
  await db
    .update(idempotencyKeys)
    .set({ responseStatus: c.res.status, responseContentType: c.res.headers.get('content-type'), responseBody: await c.res.clone().text() })
    .where(keyOf(caller, key));
};
