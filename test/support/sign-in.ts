/**
 * Signing in as a browser would, for tests: the web app's headers (its origin),
 * local users created straight in the database, and the GitLab OAuth round trip against the fake
 * GitLab (follow its redirects by hand, carry the cookies).
 */
import { expect } from 'vitest';
import { hashPassword } from '../../src/auth/passwords';
import type { Db } from '../../src/db/client';
import { createLocalUser } from '../../src/domain/users/users';
import type { TestApp } from './app';
import type { FakeGitLab, FakeUser } from './fake-gitlab';

/** Where the test apps say they are (PUBLIC_URL), and so the origin their web app writes from. */
export const PUBLIC_URL = 'https://qaboard.test';
export const WEB_APP_ORIGIN = 'https://app.qaboard.test';

/** What the web app adds to its requests. */
/** What the original web app's requests carry (it sets no extra header): its origin. */
export const WEB_APP_HEADERS = { origin: WEB_APP_ORIGIN };

/** Settings that make a test app sign people in with the fake GitLab and accept its CI id_tokens. */
export const signInEnv = (gitlab: FakeGitLab): Record<string, string> => ({
  GITLAB_URL: gitlab.url,
  PUBLIC_URL,
  CORS_ORIGINS: WEB_APP_ORIGIN,
  GITLAB_OAUTH_CLIENT_ID: gitlab.identity.client.id,
  GITLAB_OAUTH_CLIENT_SECRET: gitlab.identity.client.secret,
});

/** The `name=value` of each Set-Cookie of a response. */
export function setCookies(response: Response): Record<string, string> {
  const all = (response.headers as unknown as { getSetCookie(): string[] }).getSetCookie();
  return Object.fromEntries(all.map((cookie) => cookie.split(';')[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

/** The attributes of the Set-Cookie for `name` (lower-cased), e.g. `httponly`, `max-age=0`. */
export function cookieAttributes(response: Response, name: string): string[] {
  const all = (response.headers as unknown as { getSetCookie(): string[] }).getSetCookie();
  const cookie = all.find((c) => c.startsWith(`${name}=`));
  return cookie ? cookie.split(';').slice(1).map((a) => a.trim().toLowerCase()) : [];
}

export const cookieHeader = (cookies: Record<string, string>) => ({ cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ') });

export const SESSION = '__Host-qaboard-session';

export async function createUser(db: Db, user: { user_name: string; password: string; scopes: string[]; project_prefix?: string | null }) {
  const created = await createLocalUser(db, {
    user_name: user.user_name,
    full_name: `${user.user_name} Example`,
    email: `${user.user_name}@example.com`,
    password_hash: await hashPassword(user.password),
    scopes: user.scopes,
    project_prefix: user.project_prefix ?? null,
  });
  return created!;
}

export function passwordForm(username: string, password: string, headers: Record<string, string> = WEB_APP_HEADERS) {
  const body = new FormData();
  body.set('username', username);
  body.set('password', password);
  return { method: 'POST', headers, body };
}

/** Signs a local user in; the session cookie's value. */
export async function signInLocally(app: TestApp, username: string, password: string): Promise<string> {
  const response = await app.request('/api/v1/user/auth/', passwordForm(username, password));
  expect(response.status, await response.clone().text()).toBe(200);
  return setCookies(response)[SESSION]!;
}

export function addGitLabUser(gitlab: FakeGitLab, user: Partial<FakeUser> & Pick<FakeUser, 'username' | 'memberships'>): FakeUser {
  const full: FakeUser = {
    id: gitlab.identity.users.size + 100,
    name: `${user.username} on GitLab`,
    email: `${user.username}@gitlab.example.com`,
    avatar_url: `${gitlab.url}/uploads/-/system/user/avatar/${user.username}/avatar.png`,
    state: 'active',
    ...user,
  };
  gitlab.identity.users.set(full.username, full);
  return full;
}

/**
 * The OAuth round trip as a browser makes it: the app redirects to GitLab (setting its pending
 * sign-in cookie), GitLab (signed in as `username`) redirects back with a code, the callback
 * answers with the session cookie. `tamper` may alter the callback before it is sent.
 */
export async function gitlabRoundTrip(
  app: TestApp,
  gitlab: FakeGitLab,
  username: string | undefined,
  { next, tamper }: { next?: string; tamper?: (callback: URL, cookies: Record<string, string>) => void } = {},
) {
  const start = await app.request(`/api/v1/user/login/gitlab${next === undefined ? '' : `?next=${encodeURIComponent(next)}`}`);
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('location')!);
  const cookies = setCookies(start);
  gitlab.identity.signedInAs = username;
  const atGitLab = await fetch(authorize, { redirect: 'manual' });
  expect(atGitLab.status).toBe(302);
  const callback = new URL(atGitLab.headers.get('location')!);
  tamper?.(callback, cookies);
  const done = await app.request(`${callback.pathname}${callback.search}`, { headers: cookieHeader(cookies) });
  return { authorize, callback, response: done, session: setCookies(done)[SESSION] };
}

export async function signInWithGitLab(app: TestApp, gitlab: FakeGitLab, username: string): Promise<string> {
  const { response, session } = await gitlabRoundTrip(app, gitlab, username);
  expect(response.status, await response.clone().text()).toBe(302);
  return session!;
}

/** The headers of the web app's requests in a signed-in browser. */
export const browser = (session: string) => ({ ...WEB_APP_HEADERS, cookie: `${SESSION}=${session}` });
