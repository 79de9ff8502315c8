/**
 * Local users and web-app sessions: the original's user routes and shapes, the cookie, sliding
 * expiry, sign-out, CSRF for cookie writes, password storage and lockout — on every engine.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword, needsRehash, verifyPassword } from '../src/auth/passwords';
import { checkNotLockedOut, recordSignInFailure } from '../src/auth/sign-in-throttle';
import { queryRows } from '../src/db/client';
import { sha256Hex } from '../src/lib/digest';
import type { ApiError } from '../src/lib/problem';
import { testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import {
  browser,
  cookieAttributes,
  createUser,
  passwordForm,
  PUBLIC_URL,
  SESSION,
  setCookies,
  signInLocally,
  WEB_APP_HEADERS,
  WEB_APP_ORIGIN,
} from './support/sign-in';
import { outputUpload, shaOf } from './support/uploads';

type Json = Record<string, any>;
const ENV = { AUTH_MODE: 'all', PUBLIC_URL, CORS_ORIGINS: WEB_APP_ORIGIN, RATE_LIMIT_PER_MINUTE: '100000', SIGN_IN_ATTEMPTS_PER_MINUTE: '100000' };

const form = (fields: Record<string, string>, headers: Record<string, string> = WEB_APP_HEADERS) => {
  const body = new URLSearchParams(fields);
  return { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() };
};
const writeAs = (headers: Record<string, string>, sha = shaOf(40)) => ({
  method: 'POST',
  headers: { ...headers, 'content-type': 'application/json' },
  body: JSON.stringify(outputUpload({ project: 'team/alpha', sha })),
});

describe.each(engineNames)('sessions and local users on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  let signupApp: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db, ENV);
    signupApp = testApp(database.db, { ...ENV, LOCAL_SIGNUP: 'true', LOCAL_USER_SCOPES: 'read' });
    await createUser(database.db, { user_name: 'ada', password: 'analytical engine', scopes: ['write'] });
  });
  afterAll(() => database?.close());

  test('sign-in answers the original shape (with user_id) and sets a __Host- HttpOnly, Secure, SameSite=Lax cookie', async () => {
    const response = await app.request('/api/v1/user/auth/', passwordForm('ADA', 'analytical engine'));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Json;
    expect(body).toEqual({
      username: 'ada', user_name: 'ada', full_name: 'ada Example', email: 'ada@example.com', is_ldap: false, login_success: true,
      id: expect.any(Number), user_id: body.id,
    });
    expect(cookieAttributes(response, SESSION).sort()).toEqual(['httponly', `max-age=${30 * 24 * 3600}`, 'path=/', 'samesite=lax', 'secure']);
    // The database keeps the digest of the cookie's secret, never the secret.
    const secret = setCookies(response)[SESSION]!;
    const rows = await queryRows<{ digest: string }>(database.db, sql`SELECT digest FROM sessions`);
    expect(rows.map((r) => r.digest)).toContain(await sha256Hex(secret));
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  test('a wrong password and an unknown user get the same 403 invalid-password (what the web app shows)', async () => {
    const wrong = await app.request('/api/v1/user/auth', passwordForm('ada', 'difference engine'));
    const unknown = await app.request('/api/v1/user/auth', passwordForm('charles', 'difference engine'));
    expect([wrong.status, unknown.status]).toEqual([403, 403]);
    const error = async (r: Response) => ((await r.json()) as Json).error;
    expect([await error(wrong), await error(unknown)]).toEqual(['invalid-password', 'invalid-password']);
    expect(setCookies(wrong)[SESSION]).toBeUndefined();
  });

  test('/me tells who is signed in; logout ends the session for good and clears the cookie', async () => {
    expect(await (await app.request('/api/v1/user/me/')).json()).toEqual({ is_authenticated: false, is_anonymous: true, is_active: false });
    const session = await signInLocally(app, 'ada', 'analytical engine');
    const me = (await (await app.request('/api/v1/user/me', { headers: browser(session) })).json()) as Json;
    expect(me).toMatchObject({ is_authenticated: true, is_anonymous: false, is_active: true, user_name: 'ada', is_ldap: false, email: 'ada@example.com' });
    expect((await app.request('/api/v1/projects', { headers: browser(session) })).status).toBe(200);

    const out = await app.request('/api/v1/user/logout/', { method: 'POST', headers: browser(session) });
    expect(await out.json()).toEqual({ status: 'OK' });
    expect(cookieAttributes(out, SESSION)).toContain('max-age=0');
    const [{ n }] = (await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM sessions WHERE digest = ${await sha256Hex(session)}`)) as [{ n: number }];
    expect(n).toBe(0);
    // AUTH_MODE=all: the ended session is anonymous, which may not read.
    expect((await app.request('/api/v1/projects', { headers: browser(session) })).status).toBe(401);
    expect(((await (await app.request('/api/v1/user/me', { headers: browser(session) })).json()) as Json).is_authenticated).toBe(false);
  });

  test('a session carries its user’s scopes like a token: this user writes, a read-only one does not', async () => {
    await createUser(database.db, { user_name: 'reader', password: 'read only please', scopes: ['read'] });
    const writer = await signInLocally(app, 'ada', 'analytical engine');
    const reader = await signInLocally(app, 'reader', 'read only please');
    expect((await app.request('/api/v1/output/', writeAs(browser(writer)))).status).toBe(200);
    const refused = await app.request('/api/v1/output/', writeAs(browser(reader)));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Json).detail).toContain('`write`');
  });

  test('sliding expiry: use moves the end forward, never past the maximum lifetime; an expired session is anonymous and its cookie cleared', async () => {
    const session = await signInLocally(app, 'ada', 'analytical engine');
    const digest = await sha256Hex(session);
    const ends = async () =>
      (await queryRows<{ left: number }>(database.db, sql`SELECT extract(epoch FROM expires_at - now())::int AS left FROM sessions WHERE digest = ${digest}`))[0]?.left;
    await database.db.execute(sql`UPDATE sessions SET last_seen_at = now() - interval '2 minutes', expires_at = now() + interval '1 hour' WHERE digest = ${digest}`);
    await app.request('/api/v1/projects', { headers: browser(session) });
    expect(await ends()).toBeGreaterThan(7 * 24 * 3600 - 60);
    // Signed in 29.5 days ago: the next use can only extend it to 30 days after sign-in.
    await database.db.execute(sql`UPDATE sessions SET created_at = now() - interval '29.5 days', last_seen_at = now() - interval '2 minutes' WHERE digest = ${digest}`);
    await app.request('/api/v1/projects', { headers: browser(session) });
    expect(await ends()).toBeLessThanOrEqual(12 * 3600 + 1);

    await database.db.execute(sql`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE digest = ${digest}`);
    const expired = await app.request('/api/v1/projects', { headers: browser(session) });
    expect(expired.status).toBe(401);
    expect(cookieAttributes(expired, SESSION)).toContain('max-age=0');
  });

  test('CSRF: a cookie write needs an allowed Origin and a body no cross-site form can send (JSON); token writes need neither', async () => {
    const session = await signInLocally(app, 'ada', 'analytical engine');
    const cookie = { cookie: `${SESSION}=${session}` };
    const attempts: [string, Record<string, string>, number, string?][] = [
      ['no Origin', cookie, 403],
      ['another origin', { ...cookie, origin: 'https://evil.example' }, 403],
      ['a lookalike origin', { ...cookie, origin: `${WEB_APP_ORIGIN}.evil.example` }, 403],
      ['Origin null', { ...cookie, origin: 'null' }, 403],
      ['the web app, posting JSON as it does', { ...cookie, ...WEB_APP_HEADERS }, 200],
      ['the web app’s origin, posting what a cross-site form can (text/plain)', { ...cookie, ...WEB_APP_HEADERS }, 403, 'text/plain'],
      // Preflighted, so not cross-site: on to the route, which wants JSON.
      ['text/plain with X-Requested-With', { ...cookie, ...WEB_APP_HEADERS, 'x-requested-with': 'XMLHttpRequest' }, 415, 'text/plain'],
      ['the API’s own origin', { ...cookie, origin: PUBLIC_URL }, 200],
      ['a Referer on the web app, no Origin', { ...cookie, referer: `${WEB_APP_ORIGIN}/team/alpha` }, 200],
    ];
    for (const [name, headers, status, contentType] of attempts) {
      const write = writeAs(headers, shaOf(41));
      const response = await app.request('/api/v1/output/', contentType ? { ...write, headers: { ...write.headers, 'content-type': contentType } } : write);
      expect(response.status, name).toBe(status);
      if (status === 403) expect(((await response.json()) as Json).detail, name).toMatch(/Cross-site request refused/);
      if (status === 415) expect(((await response.json()) as Json).detail, name).not.toMatch(/Cross-site/);
    }
    // Reads are not forged writes: a cookie GET needs neither.
    expect((await app.request('/api/v1/projects', { headers: cookie })).status).toBe(200);
    // Sign-in forms are checked too (login CSRF), whatever the credential.
    expect((await app.request('/api/v1/user/auth/', passwordForm('ada', 'analytical engine', { origin: 'https://evil.example' }))).status).toBe(403);
  });

  test('CSRF: HTTP Basic credentials a browser resends cross-site get the same checks; the qa CLI (no browser signals) does not (attack finding M3)', async () => {
    const token = 'basic-admin-token-for-csrf';
    const withToken = testApp(database.db, { ...ENV, ADMIN_TOKEN: token });
    const basic = { authorization: `Basic ${btoa(`ci:${token}`)}` };
    const attempts: [string, Record<string, string>, number, string?][] = [
      ['the qa CLI: Basic ci:<token>, no Origin', basic, 200],
      ['a cross-site page replaying cached Basic credentials', { ...basic, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 403],
      ['a cross-site form (text/plain), Origin only', { ...basic, origin: 'https://evil.example' }, 403, 'text/plain'],
      ['Sec-Fetch-Site cross-site without Origin', { ...basic, 'sec-fetch-site': 'cross-site' }, 403],
      ['Origin null (a sandboxed page)', { ...basic, origin: 'null' }, 403],
      ['the web app, with Basic credentials', { ...basic, ...WEB_APP_HEADERS, 'sec-fetch-site': 'same-site' }, 200],
      ['the web app, posting a cross-site-sendable body', { ...basic, ...WEB_APP_HEADERS }, 403, 'text/plain'],
      ['a Bearer token from a browser page elsewhere (never sent by itself)', { authorization: `Bearer ${token}`, origin: 'https://evil.example' }, 200],
    ];
    for (const [name, headers, status, contentType] of attempts) {
      const write = writeAs(headers, shaOf(42));
      const response = await withToken.request('/api/v1/output/', contentType ? { ...write, headers: { ...write.headers, 'content-type': contentType } } : write);
      expect(response.status, name).toBe(status);
      if (status === 403) expect(((await response.json()) as Json).detail, name).toMatch(/Cross-site request refused/);
    }
    expect((await withToken.request('/api/v1/projects', { headers: { ...basic, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
  });

  test('signup is off unless LOCAL_SIGNUP=true; it creates a user with LOCAL_USER_SCOPES, names bad fields, refuses taken names', async () => {
    const fields = { email: 'grace@example.com', user_name: 'grace', full_name: 'Grace Hopper', password: 'cobol forever' };
    const off = await app.request('/api/v1/user/signup/', form(fields));
    expect(off.status).toBe(403);
    expect(((await off.json()) as Json).detail).toContain('LOCAL_SIGNUP');

    const created = await signupApp.request('/api/v1/user/signup', form(fields));
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: number };
    const [user] = await queryRows<Json>(database.db, sql`SELECT scopes, password_hash FROM users WHERE id = ${id}`);
    expect(user!.scopes).toEqual(['read']);
    expect(user!.password_hash).toMatch(/^pbkdf2-sha256\$6x100000\$/);
    expect(user!.password_hash).not.toContain('cobol');

    const taken = await signupApp.request('/api/v1/user/signup', form({ ...fields, user_name: 'GRACE', email: 'other@example.com' }));
    expect(taken.status).toBe(403);
    const short = await signupApp.request('/api/v1/user/signup', form({ ...fields, user_name: 'x', password: 'short' }));
    expect(short.status).toBe(400);
    expect(((await short.json()) as Json).errors.map((e: Json) => e.field)).toEqual(['password']);
  });

  test('lockout: after 5 failures the user name is refused (429, Retry-After) before the password is checked — even the right one', async () => {
    await createUser(database.db, { user_name: 'target', password: 'the right password', scopes: ['read'] });
    for (let i = 0; i < 5; i++) expect((await app.request('/api/v1/user/auth', passwordForm('target', `guess ${i}`))).status).toBe(403);
    const locked = await app.request('/api/v1/user/auth', passwordForm('Target', 'the right password'));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user from the same address is not locked by it.
    expect((await app.request('/api/v1/user/auth', passwordForm('ada', 'analytical engine'))).status).toBe(200);
    // Backoff: once the lock ends, one more failure locks again, for twice as long.
    await database.db.execute(sql`UPDATE sign_in_failures SET locked_until = now() - interval '1 second' WHERE subject LIKE 'pair:%|target'`);
    expect((await app.request('/api/v1/user/auth', passwordForm('target', 'guess 6'))).status).toBe(403);
    const [lock] = await queryRows<{ seconds: number }>(database.db, sql`SELECT extract(epoch FROM locked_until - now())::int AS seconds FROM sign_in_failures WHERE subject LIKE 'pair:%|target'`);
    expect(lock!.seconds).toBeGreaterThan(30);
    expect(lock!.seconds).toBeLessThanOrEqual(60);
  });

  test('lockout per address: 20 failures from one address, whatever the names, lock it', async () => {
    const subjects = (i: number) => ({ userName: `name-${i}`, address: '203.0.113.9' });
    for (let i = 0; i < 19; i++) await recordSignInFailure(database.db, subjects(i));
    await expect(checkNotLockedOut(database.db, subjects(99))).resolves.toBeUndefined();
    await recordSignInFailure(database.db, subjects(19));
    await expect(checkNotLockedOut(database.db, subjects(99))).rejects.toMatchObject({ status: 429 });
    await expect(checkNotLockedOut(database.db, { userName: 'name-99', address: '198.51.100.1' })).resolves.toBeUndefined();
  });
  test('guesses lock out only their (user, address) pair; spread over addresses they delay the name at most 30 s (attack finding F9a)', async () => {
    const target = (address: string) => ({ userName: 'victim', address });
    for (let i = 0; i < 50; i++) await recordSignInFailure(database.db, target(`192.0.2.${i % 5}`)); // 5 addresses, 10 guesses each
    await expect(checkNotLockedOut(database.db, target('192.0.2.1'))).rejects.toMatchObject({ status: 429 }); // the guessers' pairs
    const delayed = (await checkNotLockedOut(database.db, target('198.51.100.77')).catch((error: ApiError) => error)) as ApiError;
    expect(delayed).toMatchObject({ status: 429 }); // the name, from anywhere: delayed…
    expect(Number(delayed.options.headers!['retry-after'])).toBeLessThanOrEqual(30); // …but briefly
    await database.db.execute(sql`UPDATE sign_in_failures SET locked_until = now() - interval '1 second' WHERE subject = 'user:victim'`);
    await expect(checkNotLockedOut(database.db, target('198.51.100.77'))).resolves.toBeUndefined(); // the real user gets in
    await recordSignInFailure(database.db, target('192.0.2.99'));
    const [lock] = await queryRows<{ seconds: number }>(database.db, sql`SELECT extract(epoch FROM locked_until - now())::int AS seconds FROM sign_in_failures WHERE subject = 'user:victim'`);
    expect(lock!.seconds).toBeLessThanOrEqual(30);
  });

  test('attempts per address are counted before any hashing: a concurrent flood is cut at SIGN_IN_ATTEMPTS_PER_MINUTE; sign-ups too (attack finding F9b, F9c)', async () => {
    await database.db.execute(sql`DELETE FROM sign_in_failures`);
    const limited = testApp(database.db, { ...ENV, SIGN_IN_ATTEMPTS_PER_MINUTE: '5', LOCAL_SIGNUP: 'true' });
    const started = Date.now();
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => limited.request('/api/v1/user/auth', passwordForm(`flood-${i}`, 'guess')))).then((rs) => rs.map((r) => r.status));
    expect(statuses.filter((s) => s === 403)).toHaveLength(5);
    const refused = statuses.filter((s) => s === 429);
    expect(refused).toHaveLength(7);
    const again = await limited.request('/api/v1/user/auth', passwordForm('ada', 'analytical engine'));
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const signup = await limited.request('/api/v1/user/signup', form({ email: 'flood@example.com', user_name: 'flood', full_name: 'Flood', password: 'long enough pw' }));
    expect(signup.status).toBe(429);
    // A minute later the address may try again.
    await database.db.execute(sql`UPDATE sign_in_failures SET last_failure_at = now() - interval '61 seconds' WHERE subject LIKE 'attempts:%'`);
    expect((await limited.request('/api/v1/user/auth', passwordForm('ada', 'analytical engine'))).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe('passwords', () => {
  test('at most 2 hashes at once and 8 waiting: past that a check is refused at once, 503 with Retry-After (attack finding F9b)', async () => {
    const stored = await hashPassword('right');
    const results = await Promise.allSettled(Array.from({ length: 13 }, (_, i) => verifyPassword(i === 0 ? 'right' : 'wrong', stored)));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ApiError] : []));
    expect(refused).toHaveLength(3);
    for (const error of refused) expect(error).toMatchObject({ status: 503, options: { headers: { 'retry-after': '2' } } });
    expect(results[0]).toEqual({ status: 'fulfilled', value: true });
    await expect(verifyPassword('right', stored)).resolves.toBe(true); // the slots were all given back
  });

  test('PBKDF2-SHA256, 600,000 iterations as 6 × 100,000 (Workers’ cap per call), salted; compared in constant time', async () => {
    const a = await hashPassword('same password');
    const b = await hashPassword('same password');
    expect(a).toMatch(/^pbkdf2-sha256\$6x100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same passwore', a)).toBe(false);
    expect(await verifyPassword('same password', null)).toBe(false);
    expect(await verifyPassword('x', 'pbkdf2-sha256$1x99999999$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
    expect(needsRehash(a)).toBe(false);
    expect(needsRehash('pbkdf2-sha256$1x100000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(true);
  });
});
