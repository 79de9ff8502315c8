/**
 * Sign-in inside workerd: CI id_tokens verified with jose against the fake GitLab's keys (fetched by
 * the Worker), local users' PBKDF2 chain and sessions with their CSRF check, and the GitLab OAuth
 * round trip with PKCE (arctic in the Workers runtime).
 */
import { exports } from 'cloudflare:workers';
import { inject } from 'vitest';
import { describe, expect, test } from 'vitest';
import { signCiIdToken, unsignedCopy, type SigningKey } from '../support/ci-id-tokens';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const ORIGIN = 'http://qaboard.test';
// Redirects are the answers under test (the Worker's own fetch would follow them back into itself).
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`${ORIGIN}${path}`, { redirect: 'manual', ...init }));
const SESSION = '__Host-qaboard-session';
const firstUpload = JSON.parse(sample.split('\n')[0]!).json as Record<string, unknown>;
const upload = (project: string, headers: Record<string, string>) =>
  call('/api/v1/output/', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ ...firstUpload, project }) });
const cookieOf = (response: Response, name: string) =>
  (response.headers as unknown as { getSetCookie(): string[] })
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0]!
    .slice(name.length + 1);

describe('sign-in in the Worker', () => {
  test('a CI job uploads with its id_token as the qa CLI sends it (Basic password); a forged or expired one is refused', async () => {
    const key = JSON.parse(inject('ciSigningKey')) as SigningKey;
    const spec = { issuer: inject('fakeGitLabUrl'), audience: ORIGIN, project_path: 'worker/ci' };
    const jwt = await signCiIdToken(key, spec);
    const basic = (token: string) => ({ authorization: `Basic ${btoa(`ci:${token}`)}` });
    expect((await upload('worker/ci/sub', basic(jwt))).status).toBe(200);
    expect((await upload('worker/other', basic(jwt))).status).toBe(404);
    expect((await upload('worker/ci', basic(unsignedCopy(jwt)))).status).toBe(401);
    expect((await upload('worker/ci', basic(await signCiIdToken(key, { ...spec, expiresIn: -120 })))).status).toBe(401);
    expect((await upload('worker/ci', basic(await signCiIdToken(key, { ...spec, audience: 'https://elsewhere.example' })))).status).toBe(401);
  });

  test('a local user signs up, signs in (PBKDF2 chain in workerd), writes from the web app only, signs out', async () => {
    const web = { origin: ORIGIN };
    const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { ...web, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    expect((await call('/api/v1/user/signup/', form({ user_name: 'wendy', email: 'wendy@example.com', full_name: 'Wendy', password: 'workerd passw0rd' }))).status).toBe(200);
    const signedIn = await call('/api/v1/user/auth/', form({ username: 'wendy', password: 'workerd passw0rd' }));
    expect(signedIn.status).toBe(200);
    expect(await signedIn.json()).toMatchObject({ user_name: 'wendy', login_success: true, user_id: expect.any(Number) });
    const session = cookieOf(signedIn, SESSION)!;
    const cookie = { cookie: `${SESSION}=${session}` };
    expect(await (await call('/api/v1/user/me', { headers: cookie })).json()).toMatchObject({ is_authenticated: true, user_name: 'wendy' });
    expect((await upload('worker/session', { ...cookie, ...web })).status).toBe(200);
    expect((await upload('worker/session', { ...cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await call('/api/v1/user/logout', { method: 'POST', headers: { ...cookie, ...web } })).status).toBe(200);
    expect(await (await call('/api/v1/user/me', { headers: cookie })).json()).toMatchObject({ is_authenticated: false });
  });

  test('GitLab sign-in: PKCE round trip through the fake GitLab, then the user’s memberships decide', async () => {
    const start = await call('/api/v1/user/login/gitlab?next=%2Fworker%2Foauth');
    expect(start.status, await start.clone().text()).toBe(302);
    const pending = cookieOf(start, '__Host-qaboard-gitlab-sign-in')!;
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const atGitLab = await fetch(authorize, { redirect: 'manual' });
    const callback = new URL(atGitLab.headers.get('location')!);
    const done = await call(`${callback.pathname}${callback.search}`, { headers: { cookie: `__Host-qaboard-gitlab-sign-in=${pending}` } });
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/worker/oauth');
    const cookie = { cookie: `${SESSION}=${cookieOf(done, SESSION)}` };
    expect(await (await call('/api/v1/user/me', { headers: cookie })).json()).toMatchObject({ is_authenticated: true, user_name: 'worker-dev' });
    const web = { ...cookie, origin: ORIGIN };
    expect((await upload('worker/oauth', web)).status).toBe(200);
    expect((await upload('worker/elsewhere', web)).status).toBe(404);
  });
});
