/**
 * GitLab sign-in against the fake GitLab: the OAuth round trip with PKCE (state and verifier
 * mismatches refused), what a GitLab user sees and may do (their memberships, per role), the
 * membership cache and its refresh, token renewal and revocation, and the CI jobs the web app
 * reads and plays with the user's rights — on every engine.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../src/config';
import { queryRows } from '../src/db/client';
import { NODE_DEFAULTS } from '../src/node-app';
import { sha256Hex } from '../src/lib/digest';
import { postJson, testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { startFakeGitLab, type FakeGitLab } from './support/fake-gitlab';
import { HEAD_SHA, ispPipelineRepository } from './support/gitlab-fixtures';
import { addGitLabUser, browser, cookieAttributes, gitlabRoundTrip, PUBLIC_URL, SESSION, signInEnv, signInWithGitLab, WEB_APP_ORIGIN } from './support/sign-in';
import { outputUpload, shaOf } from './support/uploads';

type Json = Record<string, any>;
const ADMIN_TOKEN = 'bootstrap-admin-token-for-tests';
const PROJECTS = ['vision/isp-pipeline', 'vision/isp-pipeline/hdr', 'team/alpha', 'other/beta'];

describe.each(engineNames)('GitLab sign-in on %s', (engine) => {
  let database: TestDatabase;
  let gitlab: FakeGitLab;
  let app: TestApp;

  const sessionRow = async (session: string) =>
    (await queryRows<Json>(database.db, sql`SELECT * FROM sessions WHERE digest = ${await sha256Hex(session)}`))[0];
  const refreshDue = (session: string) => sha256Hex(session).then((digest) => database.db.execute(sql`UPDATE sessions SET grants_refresh_after = now() - interval '1 second' WHERE digest = ${digest}`));
  const projectsOf = async (session: string) => Object.keys((await (await app.request('/api/v1/projects', { headers: browser(session) })).json()) as object).sort();
  const write = (session: string, project: string, sha = shaOf(60)) => app.request('/api/v1/output/', { method: 'POST', headers: { ...browser(session), 'content-type': 'application/json' }, body: JSON.stringify(outputUpload({ project, sha })) });

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    gitlab = await startFakeGitLab([ispPipelineRepository()]);
    app = testApp(database.db, { ...signInEnv(gitlab), AUTH_MODE: 'all', ADMIN_TOKEN, GITLAB_TOKEN: gitlab.token, RATE_LIMIT_PER_MINUTE: '100000' });
    for (const project of PROJECTS) {
      expect((await postJson(app, '/api/v1/output/', outputUpload({ project, sha: shaOf(1) }), { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
    }
    addGitLabUser(gitlab, { username: 'grace', memberships: { 'vision/isp-pipeline': 30, 'team/alpha': 20 } });
    addGitLabUser(gitlab, { username: 'blocked', memberships: {}, state: 'blocked' });
    gitlab.identity.pipelines.set(`vision/isp-pipeline:${HEAD_SHA}`, {
      id: 991,
      jobs: [
        { id: 11, name: 'deploy-preview', status: 'manual' },
        { id: 12, name: 'unit-tests', status: 'success' },
        { id: 13, name: 'deploy-preview', status: 'skipped' },
      ],
    });
  });
  beforeEach(() => {
    gitlab.failures = [];
    gitlab.identity.accessTokenSeconds = 7200;
  });
  afterAll(async () => {
    await gitlab?.close();
    await database?.close();
  });

  test('the round trip: to GitLab with state and an S256 code challenge, back with a session; the user sees only their projects', async () => {
    const { authorize, response, session } = await gitlabRoundTrip(app, gitlab, 'grace', { next: '/vision/isp-pipeline' });
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${gitlab.url}/oauth/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: gitlab.identity.client.id,
      redirect_uri: `${PUBLIC_URL}/api/v1/user/callback/gitlab`,
      code_challenge_method: 'S256',
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      state: expect.any(String),
      scope: 'api',
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/vision/isp-pipeline');
    expect(cookieAttributes(response, SESSION)).toEqual(expect.arrayContaining(['httponly', 'secure', 'samesite=lax', 'path=/']));
    expect(cookieAttributes(response, '__Host-qaboard-gitlab-sign-in')).toContain('max-age=0');

    const me = (await (await app.request('/api/v1/user/me', { headers: browser(session!) })).json()) as Json;
    expect(me).toMatchObject({ is_authenticated: true, user_name: 'grace', full_name: 'grace on GitLab', email: 'grace@gitlab.example.com', is_ldap: false });
    // Member of vision/isp-pipeline (and so of its sub-project) and team/alpha; not of other/beta.
    expect(await projectsOf(session!)).toEqual(['team/alpha', 'vision/isp-pipeline', 'vision/isp-pipeline/hdr']);
    expect((await app.request('/api/v1/project?project=other%2Fbeta', { headers: browser(session!) })).status).toBe(404);
    // The GitLab token is kept sealed: not readable in the table.
    const row = await sessionRow(session!);
    expect(row!.gitlab_tokens).not.toMatch(/glpat|glrt/);
    expect(row!.grants).toEqual(expect.arrayContaining([{ projectPrefix: 'vision/isp-pipeline', scopes: ['write'] }, { projectPrefix: 'team/alpha', scopes: ['read'] }]));
  });

  test('roles map to scopes per project: Developer writes, Reporter only reads (403), a non-member gets 404; Maintainer manages tokens of its project', async () => {
    const session = await signInWithGitLab(app, gitlab, 'grace');
    expect((await write(session, 'vision/isp-pipeline/hdr')).status).toBe(200);
    const readOnly = await write(session, 'team/alpha');
    expect(readOnly.status).toBe(403);
    expect(((await readOnly.json()) as Json).detail).toContain('may only read project team/alpha');
    expect((await write(session, 'other/beta')).status).toBe(404);
    expect((await app.request('/api/v1/commits?project=team%2Falpha', { headers: browser(session) })).status).toBe(200);
    // Maintainer → admin, on that project only: tokens within it, not beyond.
    addGitLabUser(gitlab, { username: 'maintainer', memberships: { 'team/alpha': 40 } });
    const maintainer = await signInWithGitLab(app, gitlab, 'maintainer');
    const own = await app.request('/api/v1/tokens', { method: 'POST', headers: { ...browser(maintainer), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ci', scopes: ['write'], project_prefix: 'team/alpha' }) });
    expect(own.status).toBe(201);
    const wider = await app.request('/api/v1/tokens', { method: 'POST', headers: { ...browser(maintainer), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ci', scopes: ['write'] }) });
    expect(wider.status).toBe(403);
  });

  test('a mismatched state is refused, and so is a missing pending sign-in', async () => {
    const forged = await gitlabRoundTrip(app, gitlab, 'grace', { tamper: (callback) => callback.searchParams.set('state', 'attacker-state') });
    expect(forged.response.status).toBe(400);
    expect(forged.session).toBeUndefined();
    const noCookie = await gitlabRoundTrip(app, gitlab, 'grace', { tamper: (_, cookies) => delete cookies['__Host-qaboard-gitlab-sign-in'] });
    expect(noCookie.response.status).toBe(400);
  });

  test('a PKCE verifier that does not match the challenge is refused by GitLab: no session', async () => {
    const { response, session } = await gitlabRoundTrip(app, gitlab, 'grace', {
      tamper: (_, cookies) => {
        const [state, , next] = cookies['__Host-qaboard-gitlab-sign-in']!.split('.');
        cookies['__Host-qaboard-gitlab-sign-in'] = `${state}.${'x'.repeat(43)}.${next}`;
      },
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as Json).detail).toContain('invalid_grant');
    expect(session).toBeUndefined();
  });

  test('declined on GitLab → 401; a blocked account → 403; `next` never leaves the web app', async () => {
    expect((await gitlabRoundTrip(app, gitlab, undefined)).response.status).toBe(401);
    expect((await gitlabRoundTrip(app, gitlab, 'blocked')).response.status).toBe(403);
    for (const [next, lands] of [
      ['https://evil.example/phish', `${WEB_APP_ORIGIN}/`],
      ['//evil.example/phish', `${WEB_APP_ORIGIN}/`],
      ['/\\evil.example', `${WEB_APP_ORIGIN}/`],
      [`${WEB_APP_ORIGIN}/team/alpha`, `${WEB_APP_ORIGIN}/team/alpha`],
      // Attack finding F7: what browsers read as another host (tabs and newlines are dropped, `\` is `/`).
      ['/\t/evil.example', `${WEB_APP_ORIGIN}/`],
      ['/\n/evil.example/x', `${WEB_APP_ORIGIN}/`],
      ['\\\\evil.example', `${WEB_APP_ORIGIN}/`],
      ['\\/evil.example', `${WEB_APP_ORIGIN}/`],
      [' //evil.example', `${WEB_APP_ORIGIN}/`],
      ['https:evil.example', `${WEB_APP_ORIGIN}/`],
      [`${WEB_APP_ORIGIN}@evil.example/`, `${WEB_APP_ORIGIN}/`],
      ['javascript:alert(1)', `${WEB_APP_ORIGIN}/`],
      ['team/alpha', `${WEB_APP_ORIGIN}/`],
      // Malformed values are no 500: a header can't carry them raw, so they go percent-encoded.
      ['/team/\r\nset-cookie: x=1', '/team/set-cookie:%20x=1'], // CR and LF dropped, as browsers do
      ['/équipe/α?q=ü#é', '/%C3%A9quipe/%CE%B1?q=%C3%BC#%C3%A9'],
      ['/team/alpha?batch=a b', '/team/alpha?batch=a%20b'],
    ]) {
      const { response } = await gitlabRoundTrip(app, gitlab, 'grace', { next });
      expect(response.headers.get('location'), next).toBe(lands);
    }
    for (const raw of ['%ED%A0%80', '%E0%A4%A', '%00', '%2F%0D%0A%09%2F%2Fevil.example', '%FF%FE']) {
      const start = await app.request(`/api/v1/user/login/gitlab?next=${raw}`);
      expect(start.status, raw).toBeLessThan(500);
      expect(start.headers.get('location') ?? '', raw).not.toContain('evil.example');
    }
  });

  test('memberships are cached: GitLab is not asked per request, but again once the TTL has passed', async () => {
    addGitLabUser(gitlab, { username: 'mover', memberships: { 'team/alpha': 20 } });
    const session = await signInWithGitLab(app, gitlab, 'mover');
    const asked = () => gitlab.requests.filter((r) => r.startsWith('/api/v4/projects?')).length;
    const before = asked();
    gitlab.identity.users.get('mover')!.memberships = { 'other/beta': 20 };
    for (let i = 0; i < 3; i++) expect(await projectsOf(session)).toEqual(['team/alpha']);
    expect(asked()).toBe(before);
    await refreshDue(session);
    expect(await projectsOf(session)).toEqual(['other/beta']);
    expect(asked()).toBeGreaterThan(before);
  });

  test('an expiring GitLab token is renewed with its refresh token (rotated), and stored again', async () => {
    gitlab.identity.accessTokenSeconds = 30; // inside the renewal margin: renewed at the next refresh
    const session = await signInWithGitLab(app, gitlab, 'grace');
    const sealed = (await sessionRow(session))!.gitlab_tokens;
    await refreshDue(session);
    expect(await projectsOf(session)).toContain('team/alpha');
    expect((await sessionRow(session))!.gitlab_tokens).not.toBe(sealed);
    const refreshTokens = [...gitlab.identity.tokens.values()].filter((t) => t.kind === 'refresh' && t.username === 'grace');
    expect(refreshTokens.some((t) => t.revoked)).toBe(true);
  });

  test('when GitLab refuses the user’s token (revoked there), the session ends', async () => {
    const session = await signInWithGitLab(app, gitlab, 'grace');
    for (const token of gitlab.identity.tokens.values()) if (token.username === 'grace') token.revoked = true;
    await refreshDue(session);
    const response = await app.request('/api/v1/projects', { headers: browser(session) });
    expect(response.status).toBe(401);
    expect(await sessionRow(session)).toBeUndefined();
  });

  test('GitLab down at refresh time: cached memberships serve (within 12 TTLs), then 503', async () => {
    const session = await signInWithGitLab(app, gitlab, 'grace');
    gitlab.failures = [{ match: /^\/api\/v4\/projects$/, status: 502, times: Infinity }];
    await refreshDue(session);
    expect(await projectsOf(session)).toContain('team/alpha');
    const digest = await sha256Hex(session);
    await database.db.execute(sql`UPDATE sessions SET grants_fetched_at = now() - interval '2 hours', grants_refresh_after = now() - interval '1 second' WHERE digest = ${digest}`);
    const stale = await app.request('/api/v1/projects', { headers: browser(session) });
    expect(stale.status).toBe(503);
    expect(stale.headers.get('retry-after')).toBeTruthy();
  });

  test('sign-out ends the session and asks GitLab to revoke the token', async () => {
    const session = await signInWithGitLab(app, gitlab, 'grace');
    const tokensBefore = [...gitlab.identity.tokens.values()].filter((t) => t.kind === 'access' && t.username === 'grace' && !t.revoked).length;
    expect((await app.request('/api/v1/user/logout', { method: 'POST', headers: browser(session) })).status).toBe(200);
    const tokensAfter = [...gitlab.identity.tokens.values()].filter((t) => t.kind === 'access' && t.username === 'grace' && !t.revoked).length;
    expect(tokensAfter).toBe(tokensBefore - 1);
    expect(await sessionRow(session)).toBeUndefined();
  });

  describe('CI jobs, with the user’s rights', () => {
    const job = (session: string | undefined, path: string, body: Json) =>
      app.request(path, { method: 'POST', headers: { ...(session ? browser(session) : { authorization: `Bearer ${ADMIN_TOKEN}` }), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const request = { gitlab_host: 'https://elsewhere.example', project_id: 'vision/isp-pipeline/hdr', commit_id: HEAD_SHA, job_name: 'deploy-preview' };

    test('status: the last job of that name in the commit’s latest pipeline, or by id; GitLab’s body as is', async () => {
      const session = await signInWithGitLab(app, gitlab, 'grace');
      const byName = await job(session, '/api/v1/gitlab/job/', request);
      expect(byName.status).toBe(200);
      expect(await byName.json()).toMatchObject({ id: 13, name: 'deploy-preview', status: 'skipped', web_url: expect.any(String), stage: 'deploy' });
      expect(await (await job(session, '/api/v1/gitlab/job', { ...request, job_id: 12 })).json()).toMatchObject({ id: 12, status: 'success' });
      const missing = await job(session, '/api/v1/gitlab/job', { ...request, job_name: 'nope' });
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as Json).error).toBe('Only these jobs are available: ["deploy-preview","unit-tests","deploy-preview"]');
    });

    test('play: the first job of that name, as the user — a Developer may, a Reporter is refused by GitLab; API tokens are not GitLab users', async () => {
      const developer = await signInWithGitLab(app, gitlab, 'grace');
      const played = await job(developer, '/api/v1/gitlab/job/play', request);
      expect(played.status).toBe(200);
      expect(await played.json()).toMatchObject({ id: 11, status: 'pending' });
      expect(gitlab.identity.played).toContain('vision/isp-pipeline:11:grace');

      addGitLabUser(gitlab, { username: 'reporter', memberships: { 'vision/isp-pipeline': 20 } });
      const reporter = await signInWithGitLab(app, gitlab, 'reporter');
      // Reporter → read: it may ask the status (a read)…
      expect((await job(reporter, '/api/v1/gitlab/job', request)).status).toBe(200);
      // …but playing is a write here, and GitLab would refuse it too.
      expect((await job(reporter, '/api/v1/gitlab/job/play', request)).status).toBe(403);
      const token = await job(undefined, '/api/v1/gitlab/job', request);
      expect(token.status).toBe(403);
      expect(((await token.json()) as Json).detail).toContain('Sign in with GitLab');
      expect((await job(developer, '/api/v1/gitlab/job', { ...request, project_id: 'other/beta' })).status).toBe(404);
    });
  });
});

describe('sign-in configuration', () => {
  const parse = (env: Record<string, string>) => parseConfig(env, NODE_DEFAULTS);
  const gitlabEnv = { GITLAB_URL: 'https://gitlab.example.com/', PUBLIC_URL: 'https://qaboard.example.com/', GITLAB_OAUTH_CLIENT_ID: 'id', GITLAB_OAUTH_CLIENT_SECRET: 'secret' };

  test('GitLab sign-in needs GITLAB_URL, PUBLIC_URL and the OAuth app; CI id_tokens need GITLAB_URL and PUBLIC_URL', () => {
    const config = parse(gitlabEnv);
    expect(config.gitlabSignIn).toMatchObject({ url: 'https://gitlab.example.com', redirectUri: 'https://qaboard.example.com/api/v1/user/callback/gitlab', oauthScopes: ['api'] });
    expect(config.ciIdTokens).toMatchObject({ issuer: 'https://gitlab.example.com', audience: 'https://qaboard.example.com', jwksUrl: 'https://gitlab.example.com/oauth/discovery/keys', protectedRefsOnly: false });
    expect(parse({ GITLAB_URL: gitlabEnv.GITLAB_URL, PUBLIC_URL: gitlabEnv.PUBLIC_URL }).gitlabSignIn).toBeUndefined();
    expect(parse({ GITLAB_URL: gitlabEnv.GITLAB_URL }).ciIdTokens).toBeUndefined();
  });

  test('GITLAB_ROLE_SCOPES: each role maps to a scope, highest first; unknown roles and scopes are refused at start', () => {
    expect(parse({ ...gitlabEnv, GITLAB_ROLE_SCOPES: 'developer=write, reporter=read ,owner=admin' }).gitlabSignIn!.roleScopes).toEqual([
      { minAccessLevel: 50, scope: 'admin' },
      { minAccessLevel: 30, scope: 'write' },
      { minAccessLevel: 20, scope: 'read' },
    ]);
    expect(() => parse({ GITLAB_ROLE_SCOPES: 'boss=admin' })).toThrow(/unknown GitLab role `boss`/);
    expect(() => parse({ GITLAB_ROLE_SCOPES: 'guest=root' })).toThrow(/read, write or admin/);
    expect(() => parse({ ADMIN_TOKEN: 'eyJhbGciOiJSUzI1NiJ9.e30.sig-sig-sig' })).toThrow(/must not look like a JWT/);
  });
});
