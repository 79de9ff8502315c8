/**
 * Access control on every route: the matrix no credential / wrong scope / other project / valid, in
 * each AUTH_MODE, with API tokens (Bearer and Basic; revoked, unknown), web-app sessions (local and
 * GitLab users; cross-site writes, ended sessions) and GitLab CI id_tokens (valid, expired, wrong
 * audience or issuer, tampered, `alg: none`, unknown key, unprotected ref when protected ones are
 * required). The routes come from the OpenAPI document, so a new route without an entry here fails
 * the coverage test.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { presentedCredential } from '../src/auth/credentials';
import { canSeeProject, projectAccess, projectWithin, type Caller } from '../src/auth/principal';
import { sha256Hex } from '../src/lib/digest';
import { queryRows } from '../src/db/client';
import { sql } from 'drizzle-orm';
import { postJson, testApp, type TestApp } from './support/app';
import { newSigningKey, signCiIdToken, tamperedCopy, unsignedCopy, type SigningKey } from './support/ci-id-tokens';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { startFakeGitLab, type FakeGitLab } from './support/fake-gitlab';
import { HEAD_SHA } from './support/gitlab-fixtures';
import { addGitLabUser, browser, createUser, PUBLIC_URL, signInEnv, signInLocally, signInWithGitLab, WEB_APP_HEADERS } from './support/sign-in';
import { outputUpload, shaOf } from './support/uploads';

const ADMIN_TOKEN = 'bootstrap-admin-token-for-tests';
const MODES = ['open', 'write', 'all'] as const;
type Mode = (typeof MODES)[number];

/** Output files of every mode's app, so that a file seeded once is served by all. */
const artifactsFolder = mkdtempSync(path.join(tmpdir(), 'qaboard-auth-files-'));
const OWN = { project: 'team/alpha', sha: shaOf(1) };
const OTHER = { project: 'other/beta', sha: shaOf(2) };
type Target = typeof OWN & { outputId: number; batchId: number; runRequestId: number; tokenId: number; receipt: string };

interface Sample {
  path(target: Target): string;
  body?(target: Target): unknown;
  /** A form body instead of JSON (the sign-in routes). */
  form?: Record<string, string>;
  /** Whether the request names a project (a restricted token must get 404 for other projects). */
  projectBound: boolean;
  /** What a restricted token gets for another project (404 unless said otherwise). */
  otherProjectStatus?: number;
  /** Public: answers whatever the credentials (its own secret, or none) — with this status. */
  public?: true;
  publicStatus?: number;
  /** A POST that only reads: `read` suffices. */
  reads?: true;
  /** Checks its origin whatever the credential (the sign-in forms): a cross-site request gets 403. */
  sameSiteChecked?: true;
  /** Sent without the credential (sign-out would end the matrix's sessions). */
  withoutCredential?: true;
  /** Headers the request needs besides the credential (a file upload's Content-Length). */
  headers?: Record<string, string>;
  /** What a credential the access control lets through gets, when not 200 (the GitLab job routes need a GitLab session). */
  granted?(credential: Credential): number;
}
const q = encodeURIComponent;
let gitlabUrl = '';
const JOB = (t: Target) => ({ gitlab_host: gitlabUrl, project_id: t.project, commit_id: HEAD_SHA, job_name: 'deploy-preview' });
const needsGitLabSession = (credential: Credential) => (credential.gitlab ? 200 : 403);

/** One valid request per operation of the OpenAPI document, for the project of `target`. */
const SAMPLES: Record<string, Sample> = {
  'POST /api/v1/output': { path: () => '/api/v1/output/', body: (t) => outputUpload({ project: t.project, sha: t.sha }), projectBound: true },
  'POST /api/v1/batch': { path: () => '/api/v1/batch/', body: (t) => ({ project: t.project, commit_sha: t.sha, batch_label: 'auth' }), projectBound: true },
  'POST /api/v1/commit': { path: () => '/api/v1/commit/', body: (t) => ({ project: t.project, commit_sha: t.sha }), projectBound: true },
  'POST /api/v1/commit/{id}': { path: (t) => `/api/v1/commit/${t.sha}`, body: (t) => ({ project: t.project }), projectBound: true },
  'GET /api/v1/commit': { path: (t) => `/api/v1/commit?project=${q(t.project)}&commit=${t.sha}`, projectBound: true },
  'GET /api/v1/commit/{id}': { path: (t) => `/api/v1/commit/${t.sha.slice(0, 8)}?project=${q(t.project)}`, projectBound: true },
  'GET /api/v1/commit/{id}/compare': { path: (t) => `/api/v1/commit/${t.sha}/compare?project=${q(t.project)}&reference=${t.sha}`, projectBound: true },
  'GET /api/v1/commit/{id}/verdict': { path: (t) => `/api/v1/commit/${t.sha}/verdict?project=${q(t.project)}&reference=${t.sha}`, projectBound: true },
  'GET /api/v1/commits': { path: (t) => `/api/v1/commits?project=${q(t.project)}`, projectBound: true },
  'GET /api/v1/commits/{branch}': { path: (t) => `/api/v1/commits/master?project=${q(t.project)}`, projectBound: true },
  'GET /api/v1/project': { path: (t) => `/api/v1/project?project=${q(t.project)}`, projectBound: true },
  'GET /api/v1/project/branches': { path: (t) => `/api/v1/project/branches?project=${q(t.project)}`, projectBound: true },
  'GET /api/v1/output/{id}': { path: (t) => `/api/v1/output/${t.outputId}`, projectBound: true },
  'GET /api/v1/projects': { path: () => '/api/v1/projects', projectBound: false },
  'GET /api/v1/retention/preview': { path: (t) => `/api/v1/retention/preview?project=${q(t.project)}`, projectBound: true },
  'POST /api/v1/tokens': {
    path: () => '/api/v1/tokens',
    body: (t) => ({ name: 'matrix', scopes: ['read'], project_prefix: t.project }),
    projectBound: true,
    otherProjectStatus: 403,
  },
  'GET /api/v1/tokens': { path: () => '/api/v1/tokens', projectBound: false },
  'DELETE /api/v1/tokens/{id}': { path: (t) => `/api/v1/tokens/${t.tokenId}`, projectBound: true },
  'GET /api/v1/health': { path: () => '/api/v1/health', projectBound: false, public: true },
  'GET /api/v1/version': { path: () => '/api/v1/version', projectBound: false, public: true },
  'POST /api/v2/outputs': { path: () => '/api/v2/outputs', body: (t) => [outputUpload({ project: t.project, sha: t.sha })], projectBound: true },
  // Another project's (recent) receipt answers as an unknown recent one: still queued (see bulk.test.ts).
  'GET /api/v1/ingestions/{id}': { path: (t) => `/api/v1/ingestions/${t.receipt}`, projectBound: true, otherProjectStatus: 200 },
  // Sign-in routes are public; the matrix checks that no credential changes their answer (the
  // flows themselves: test/sessions.test.ts, test/gitlab-sign-in.test.ts). Invalid forms avoid hashing.
  'POST /api/v1/user/auth': { path: () => '/api/v1/user/auth', form: { username: 'nobody' }, projectBound: false, public: true, publicStatus: 400, sameSiteChecked: true },
  'POST /api/v1/user/signup': { path: () => '/api/v1/user/signup', form: { user_name: 'x' }, projectBound: false, public: true, publicStatus: 400, sameSiteChecked: true },
  'POST /api/v1/user/logout': { path: () => '/api/v1/user/logout', projectBound: false, public: true, sameSiteChecked: true, withoutCredential: true },
  'GET /api/v1/user/me': { path: () => '/api/v1/user/me', projectBound: false, public: true },
  'GET /api/v1/user/login/gitlab': { path: () => '/api/v1/user/login/gitlab', projectBound: false, public: true, publicStatus: 302 },
  'GET /api/v1/user/callback/gitlab': { path: () => '/api/v1/user/callback/gitlab?code=c&state=s', projectBound: false, public: true, publicStatus: 400 },
  'GET /api/v1/gitlab/proxy': { path: () => `/api/v1/gitlab/proxy?url=${q(`${gitlabUrl}/uploads/avatar.png`)}`, projectBound: false },
  'POST /api/v1/gitlab/job': { path: () => '/api/v1/gitlab/job/', body: JOB, projectBound: true, reads: true, granted: needsGitLabSession },
  'POST /api/v1/gitlab/job/play': { path: () => '/api/v1/gitlab/job/play/', body: JOB, projectBound: true, granted: needsGitLabSession },
  // The web app's writes: each repeatable, none destroying the target.
  'PUT /api/v1/output/{id}': { path: (t) => `/api/v1/output/${t.outputId}/`, body: () => ({ data: { seen: true } }), projectBound: true },
  'DELETE /api/v1/output/{id}': { path: (t) => `/api/v1/output/${t.outputId}/?soft=true`, projectBound: true },
  'POST /api/v1/output/redo/{id}': { path: (t) => `/api/v1/output/redo/${t.outputId}/`, body: () => ({}), projectBound: true },
  'POST /api/v1/batch/stop': { path: () => '/api/v1/batch/stop/', body: (t) => ({ id: t.batchId }), projectBound: true },
  'POST /api/v1/batch/redo': { path: () => '/api/v1/batch/redo/', body: (t) => ({ id: t.batchId, only_failed: true }), projectBound: true },
  'POST /api/v1/batch/rename': { path: () => '/api/v1/batch/rename/', body: (t) => ({ id: t.batchId, label: 'default' }), projectBound: true },
  'POST /api/v1/batch/move': { path: () => '/api/v1/batch/move/', body: (t) => ({ id: t.batchId, label: 'default', filter: '' }), projectBound: true },
  'DELETE /api/v1/batch/{id}': { path: (t) => `/api/v1/batch/${t.batchId}/?soft=true&filter=*.png`, projectBound: true },
  // The target commit heads its reference branch: allowed callers get 403 (protected), nothing is deleted.
  'DELETE /api/v1/commit/{id}/batches': { path: (t) => `/api/v1/commit/${t.sha}/batches/`, projectBound: true, granted: () => 403 },
  'DELETE /api/v1/commit/{project}/{id}/batches': { path: (t) => `/api/v1/commit/${t.project}/${t.sha}/batches/`, projectBound: true, granted: () => 403 },
  'POST /api/v1/commit/{hexsha}/batch': {
    path: (t) => `/api/v1/commit/${t.sha}/batch?project=${q(t.project)}`,
    body: (t) => ({ project: t.project, batch_label: 'tuning', selected_group: 'all', groups: [], tuning_search: { search_type: 'grid', parameter_search: {} } }),
    projectBound: true,
  },
  'POST /api/v1/commit/save-artifacts': { path: () => '/api/v1/commit/save-artifacts/', body: (t) => ({ hexsha: t.sha, project: t.project }), projectBound: true },
  'GET /api/v1/project/milestones': { path: (t) => `/api/v1/project/milestones?project=${q(t.project)}`, projectBound: true },
  'POST /api/v1/project/milestones': {
    path: () => '/api/v1/project/milestones/',
    body: (t) => ({ project: t.project, key: `${t.project}/${t.sha}/x`, milestone: { commit: t.sha, batch: 'x' }, delete: 'false' }),
    projectBound: true,
  },
  'DELETE /api/v1/project/milestones': { path: () => '/api/v1/project/milestones', body: (t) => ({ project: t.project, key: 'nothing' }), projectBound: true },
  'GET /api/v1/tests/groups': { path: (t) => `/api/v1/tests/groups?project=${t.project}&name=extra-batches`, projectBound: true },
  'POST /api/v1/tests/groups': { path: (t) => `/api/v1/tests/groups?project=${t.project}&name=extra-batches`, body: (t) => ({ project: t.project, groups: 'a: {}' }), projectBound: true },
  'POST /api/v1/tests/group': { path: (t) => `/api/v1/tests/group?project=${t.project}&name=a&commit=${t.sha}`, body: () => ({ groups: ['extra-batches'] }), projectBound: true },
  'GET /api/v1/run-requests': { path: (t) => `/api/v1/run-requests?project=${q(t.project)}`, projectBound: true },
  'GET /api/v1/run-requests/{id}': { path: (t) => `/api/v1/run-requests/${t.runRequestId}`, projectBound: true },
  // A JSON body, as a browser sends it with a session (CSRF: bodyless cookie POSTs are refused).
  'POST /api/v1/run-requests/{id}/cancel': { path: (t) => `/api/v1/run-requests/${t.runRequestId}/cancel`, body: () => ({}), projectBound: true },
  // Output files (the matrix's apps keep them in r2 mode): the file's JSON text is 3 bytes.
  'PUT /api/v1/output/{id}/files/{path}': { path: (t) => `/api/v1/output/${t.outputId}/files/matrix.txt`, body: () => 'x', headers: { 'content-length': '3' }, projectBound: true },
  'GET /api/v1/output/{id}/manifest': { path: (t) => `/api/v1/output/${t.outputId}/manifest`, projectBound: true },
  // No R2 credentials configured: callers the access control lets through get the 503 saying so.
  'POST /api/v1/output/{id}/files:sign': { path: (t) => `/api/v1/output/${t.outputId}/files:sign`, body: () => ({ files: [{ path: 'a.png' }] }), projectBound: true, granted: () => 503 },
  // Checks credentials itself (signed URLs are public), with the same outcomes; the file is seeded in beforeAll.
  'GET /s/{key}': { path: (t) => `/s/${t.project}/${t.sha}/artifacts/seeded.txt`, projectBound: true },
};
/** Routes that authenticate with their own secret (GitLab's `X-Gitlab-Token`), not with API tokens. */
const EXEMPT = ['POST /webhook/gitlab', 'POST /api/v1/webhook/gitlab'];

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (token: string) => ({ authorization: `Basic ${btoa(`qa-user:${token}`)}` });

interface Credential {
  name: string;
  headers: Record<string, string>;
  scope?: 'read' | 'write' | 'admin';
  restricted?: boolean;
  invalid?: boolean;
  /** A session cookie (its writes are CSRF-checked). */
  session?: boolean;
  /** A GitLab user's session (the GitLab job routes need one). */
  gitlab?: boolean;
  /** Sent cross-site (another Origin): cookie writes and sign-in forms get 403. */
  crossSite?: boolean;
  /** Refused by policy on every route that checks credentials. */
  refused?: number;
}

describe.each(engineNames)('access control on %s', (engine) => {
  let database: TestDatabase;
  let gitlab: FakeGitLab;
  let signingKey: SigningKey;
  const apps = {} as Record<Mode, TestApp>;
  const targets = {} as Record<'own' | 'other', Target>;
  const credentials: Credential[] = [];
  let adminTeamToken = '';

  async function newToken(spec: object): Promise<{ id: number; token: string }> {
    const response = await postJson(apps.all, '/api/v1/tokens', spec, bearer(ADMIN_TOKEN));
    expect(response.status).toBe(201);
    return response.json() as Promise<{ id: number; token: string }>;
  }

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    // Run requests are queued, not dispatched (the matrix checks access, test/run-requests.test.ts the rest).
    const runRequestQueue = { send: async () => {} };
    const commit = { message: 'm', author_name: 'a', authored_date: '2026-11-20T10:00:00Z', parent_ids: [], branches: ['master'] };
    gitlab = await startFakeGitLab([{ path: 'team/alpha', files: {}, commits: { [HEAD_SHA]: commit } }]);
    gitlabUrl = gitlab.url;
    signingKey = await newSigningKey('gitlab-ci-key-1');
    gitlab.identity.signingKeys.push(signingKey);
    gitlab.identity.images.set('/uploads/avatar.png', { type: 'image/png', body: Buffer.from('png') });
    for (const mode of MODES) {
      apps[mode] = testApp(database.db, {
        ...signInEnv(gitlab),
        AUTH_MODE: mode,
        ADMIN_TOKEN,
        CI_ID_TOKEN_REFS: 'protected',
        RATE_LIMIT_PER_MINUTE: '100000',
        AUTH_FAILURES_PER_MINUTE: '100000',
        FILES_STORAGE: 'r2',
      }, { runRequestQueue, artifactsFolder });
    }
    for (const [name, spec] of [['own', OWN], ['other', OTHER]] as const) {
      const response = await postJson(apps.open, '/api/v1/output/', outputUpload(spec));
      const { id } = (await response.json()) as { id: number };
      const commit = (await (await apps.open.request(`/api/v1/commit/${spec.sha}?project=${q(spec.project)}`)).json()) as { batches: { default: { id: number } } };
      const runRequest = (await (await postJson(apps.open, '/api/v1/commit/save-artifacts', { hexsha: spec.sha, project: spec.project })).json()) as { id: number };
      const toRevoke = await newToken({ name: `to revoke ${name}`, scopes: ['read'], project_prefix: spec.project });
      const bulk = await postJson(apps.open, '/api/v2/outputs', [outputUpload(spec)]);
      const { ingestion_id: receipt } = (await bulk.json()) as { ingestion_id: string };
      await apps.open.spoolDrain.idle();
      targets[name] = { ...spec, outputId: id, batchId: commit.batches.default.id, runRequestId: runRequest.id, tokenId: toRevoke.id, receipt };
      // Under the commit's artifacts: the matrix's output deletions (their files go too) leave it alone.
      mkdirSync(path.join(artifactsFolder, spec.project, spec.sha, 'artifacts'), { recursive: true });
      writeFileSync(path.join(artifactsFolder, spec.project, spec.sha, 'artifacts', 'seeded.txt'), 'seed');
    }
    const read = await newToken({ name: 'read', scopes: ['read'] });
    const write = await newToken({ name: 'write', scopes: ['write'] });
    const admin = await newToken({ name: 'admin', scopes: ['admin'] });
    const readAlpha = await newToken({ name: 'read alpha', scopes: ['read'], project_prefix: 'team/alpha' });
    const writeTeam = await newToken({ name: 'write team', scopes: ['write'], project_prefix: 'team/' });
    const adminTeam = await newToken({ name: 'admin team', scopes: ['admin'], project_prefix: 'team/' });
    adminTeamToken = adminTeam.token;
    const revoked = await newToken({ name: 'revoked', scopes: ['admin'] });
    expect((await apps.all.request(`/api/v1/tokens/${revoked.id}`, { method: 'DELETE', headers: bearer(ADMIN_TOKEN) })).status).toBe(200);

    await createUser(database.db, { user_name: 'reader', password: 'reader password', scopes: ['read'] });
    await createUser(database.db, { user_name: 'team-writer', password: 'writer password', scopes: ['write'], project_prefix: 'team/' });
    const readerSession = await signInLocally(apps.all, 'reader', 'reader password');
    const writerSession = await signInLocally(apps.all, 'team-writer', 'writer password');
    // A GitLab Maintainer of team/alpha: admin there, nothing elsewhere.
    addGitLabUser(gitlab, { username: 'alpha-maintainer', memberships: { 'team/alpha': 40 } });
    gitlab.identity.pipelines.set(`team/alpha:${HEAD_SHA}`, { id: 5, jobs: [{ id: 51, name: 'deploy-preview', status: 'manual' }] });
    const gitlabSession = await signInWithGitLab(apps.all, gitlab, 'alpha-maintainer');

    const ci = (spec: Partial<Parameters<typeof signCiIdToken>[1]> = {}) =>
      signCiIdToken(signingKey, { issuer: gitlab.url, audience: PUBLIC_URL, project_path: 'team/alpha', ...spec });
    const idToken = await ci();
    const strangerKey = await newSigningKey('gitlab-ci-key-1');

    credentials.push(
      { name: 'no token', headers: {} },
      { name: 'read (Bearer)', headers: bearer(read.token), scope: 'read' },
      { name: 'read (Basic)', headers: basic(read.token), scope: 'read' },
      { name: 'write (Bearer)', headers: bearer(write.token), scope: 'write' },
      { name: 'write (Basic)', headers: basic(write.token), scope: 'write' },
      { name: 'admin (Bearer)', headers: bearer(admin.token), scope: 'admin' },
      { name: 'bootstrap admin (Basic)', headers: basic(ADMIN_TOKEN), scope: 'admin' },
      { name: 'read restricted to team/alpha (Bearer)', headers: bearer(readAlpha.token), scope: 'read', restricted: true },
      { name: 'write restricted to team/ (Basic)', headers: basic(writeTeam.token), scope: 'write', restricted: true },
      { name: 'admin restricted to team/ (Bearer)', headers: bearer(adminTeam.token), scope: 'admin', restricted: true },
      { name: 'malformed Authorization header', headers: { authorization: 'Token qab_x' }, invalid: true },
      { name: 'revoked admin', headers: bearer(revoked.token), invalid: true },
      { name: 'unknown token', headers: bearer('qab_not-a-token'), invalid: true },
      { name: 'session: local reader', headers: browser(readerSession), scope: 'read', session: true },
      { name: 'session: local writer restricted to team/', headers: browser(writerSession), scope: 'write', restricted: true, session: true },
      { name: 'session: GitLab Maintainer of team/alpha', headers: browser(gitlabSession), scope: 'admin', restricted: true, session: true, gitlab: true },
      { name: 'session, cross-site', headers: { ...browser(writerSession), origin: 'https://evil.example' }, scope: 'write', restricted: true, session: true, crossSite: true },
      { name: 'session, Origin null (a sandboxed page)', headers: { ...browser(writerSession), origin: 'null' }, scope: 'write', restricted: true, session: true, crossSite: true },
      { name: 'ended session (anonymous)', headers: browser('Ab3'.padEnd(43, 'x')) },
      { name: 'CI id_token of team/alpha (Bearer)', headers: bearer(idToken), scope: 'write', restricted: true },
      { name: 'CI id_token of team/alpha (Basic, as the qa CLI)', headers: basic(idToken), scope: 'write', restricted: true },
      { name: 'CI id_token, expired', headers: bearer(await ci({ expiresIn: -120 })), invalid: true },
      { name: 'CI id_token for another audience', headers: bearer(await ci({ audience: 'https://other-service.example' })), invalid: true },
      { name: 'CI id_token from another issuer', headers: bearer(await ci({ issuer: 'https://gitlab.evil.example' })), invalid: true },
      { name: 'CI id_token, tampered (another project, same signature)', headers: bearer(tamperedCopy(idToken, 'other/beta')), invalid: true },
      { name: 'CI id_token, alg none', headers: basic(unsignedCopy(idToken)), invalid: true },
      { name: 'CI id_token signed by another key', headers: bearer(await signCiIdToken(strangerKey, { issuer: gitlab.url, audience: PUBLIC_URL, project_path: 'team/alpha' })), invalid: true },
      { name: 'CI id_token of an unprotected ref (protected required)', headers: bearer(await ci({ ref: 'feature/x', ref_protected: 'false' })), refused: 403 },
    );
  });
  afterAll(async () => {
    await gitlab?.close();
    await database?.close();
  });

  test('every operation of the OpenAPI document is in the matrix (or exempt)', async () => {
    const document = (await (await apps.open.request('/api/openapi.json')).json()) as { paths: Record<string, object> };
    const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.filter((op) => !EXEMPT.includes(op)).sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  function expectedStatus(mode: Mode, credential: Credential, operation: string, sample: Sample, target: 'own' | 'other'): number {
    const method = operation.split(' ')[0]!;
    const needed = operation.includes('/tokens') ? 'admin' : method === 'GET' || sample.reads ? 'read' : 'write';
    const rank = { read: 1, write: 2, admin: 3 };
    const sent = sample.withoutCredential ? { name: 'none', headers: {} } : credential;
    if (sent.crossSite && method !== 'GET' && (sent.session || sample.sameSiteChecked)) return 403;
    if (sample.public) return sample.publicStatus ?? 200;
    if (credential.invalid) return 401;
    if (credential.refused) return credential.refused;
    if (!credential.scope) {
      const anonymous = { open: 2, write: 1, all: 0 }[mode];
      return rank[needed] <= anonymous ? (sample.granted?.(credential) ?? 200) : 401;
    }
    if (rank[credential.scope] < rank[needed]) return 403;
    if (credential.restricted && sample.projectBound && target === 'other') return sample.otherProjectStatus ?? 404;
    return sample.granted?.(credential) ?? 200;
  }

  test.each(MODES)('AUTH_MODE=%s: every route × every credential × own/other project', async (mode) => {
    const mismatches: string[] = [];
    for (const credential of credentials) {
      for (const [operation, sample] of Object.entries(SAMPLES)) {
        for (const target of ['own', 'other'] as const) {
          const t = targets[target];
          const body = sample.body?.(t);
          const credentialHeaders = sample.withoutCredential ? {} : credential.headers;
          const response = await apps[mode].request(sample.path(t), {
            method: operation.split(' ')[0],
            headers: {
              ...(sample.sameSiteChecked && WEB_APP_HEADERS),
              ...credentialHeaders,
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              ...sample.headers,
              ...(sample.form && { 'content-type': 'application/x-www-form-urlencoded' }),
            },
            body: sample.form ? new URLSearchParams(sample.form).toString() : body === undefined ? undefined : JSON.stringify(body),
          });
          const expected = expectedStatus(mode, credential, operation, sample, target);
          const actual = response.status === 201 || response.status === 202 ? 200 : response.status;
          if (actual !== expected) mismatches.push(`${credential.name} ${operation} (${target}): ${response.status}, expected ${expected}`);
          if (expected === 401) expect(response.headers.get('www-authenticate')).toContain('Bearer');
          if (expected >= 400) expect(response.headers.get('content-type')).toBe('application/problem+json');
          if (operation === 'GET /api/v1/projects' && actual === 200) {
            const ids = Object.keys((await response.json()) as object);
            expect(ids).toContain(credential.restricted ? 'team/alpha' : 'other/beta');
            if (credential.restricted) expect(ids).not.toContain('other/beta');
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  test('the 404 for another project is the same whether it exists or not (no existence leak)', async () => {
    const token = credentials.find((c) => c.name.startsWith('read restricted'))!;
    const existing = await apps.all.request('/api/v1/project?project=other%2Fbeta', { headers: token.headers });
    const missing = await apps.all.request('/api/v1/project?project=other%2Fnothing', { headers: token.headers });
    expect([existing.status, missing.status]).toEqual([404, 404]);
    const detail = (r: unknown) => (r as { detail: string }).detail.replace(/other\/\w+/, 'X');
    expect(detail(await existing.json())).toBe(detail(await missing.json()));
  });

  test('the webhook routes are not token-gated (they check X-Gitlab-Token themselves)', async () => {
    for (const path of ['/webhook/gitlab', '/api/v1/webhook/gitlab']) {
      const response = await postJson(apps.all, path, { object_kind: 'push' }, bearer('qab_not-a-token'));
      expect(response.headers.get('www-authenticate')).toBeNull();
    }
  });

  test('tokens: plaintext shown once, stored as its SHA-256 digest, never listed', async () => {
    const created = await newToken({ name: 'once', scopes: ['write'], project_prefix: 'team/alpha' });
    expect(created.token).toMatch(/^qab_[A-Za-z0-9_-]{43}$/);
    const [row] = await queryRows<{ digest: string }>(database.db, sql`SELECT digest FROM api_tokens WHERE id = ${created.id}`);
    expect(row!.digest).toBe(await sha256Hex(created.token));
    const listed = await (await apps.all.request('/api/v1/tokens', { headers: bearer(ADMIN_TOKEN) })).text();
    expect(listed).toContain('"name":"once"');
    expect(listed).not.toContain(created.token);
    expect(listed).not.toContain(row!.digest);
  });

  test('a revoked token stops working at once; revoking an unknown token → 404', async () => {
    const created = await newToken({ name: 'short-lived', scopes: ['read'] });
    expect((await apps.all.request('/api/v1/projects', { headers: bearer(created.token) })).status).toBe(200);
    const revoked = await apps.all.request(`/api/v1/tokens/${created.id}/`, { method: 'DELETE', headers: basic(ADMIN_TOKEN) });
    expect(((await revoked.json()) as { revoked_at: string | null }).revoked_at).toEqual(expect.any(String));
    expect((await apps.all.request('/api/v1/projects', { headers: bearer(created.token) })).status).toBe(401);
    expect((await apps.all.request('/api/v1/tokens/999999', { method: 'DELETE', headers: bearer(ADMIN_TOKEN) })).status).toBe(404);
  });

  test('the qa CLI in write mode: QABOARD_HOST=user:token@host uploads; without credentials it is refused', async () => {
    const token = await newToken({ name: 'ci', scopes: ['write'] });
    const upload = outputUpload({ project: 'team/alpha', sha: shaOf(3) });
    expect((await postJson(apps.write, '/api/v1/output/', upload)).status).toBe(401);
    expect((await postJson(apps.write, '/api/v1/output/', upload, basic(token.token))).status).toBe(200);
    expect((await apps.write.request(`/api/v1/commit/${shaOf(3)}?project=team%2Falpha`)).status).toBe(200);
  });

  test('an admin restricted to a prefix sees, creates and revokes only tokens within it — never a wider one', async () => {
    const asTeamAdmin = bearer(adminTeamToken);
    const listed = (await (await apps.all.request('/api/v1/tokens', { headers: asTeamAdmin })).json()) as { id: number; project_prefix: string | null }[];
    expect(listed.length).toBeGreaterThan(0);
    for (const token of listed) expect(token.project_prefix, JSON.stringify(token)).toMatch(/^team\//);
    const unrestricted = await newToken({ name: 'everything', scopes: ['read'] });
    const otherTeam = await newToken({ name: 'outsider', scopes: ['read'], project_prefix: 'other/beta' });

    for (const project_prefix of [null, 'other/', 'team', 'teamx/']) {
      const wider = await postJson(apps.all, '/api/v1/tokens', { name: 'escalate', scopes: ['admin'], project_prefix }, asTeamAdmin);
      expect(wider.status, String(project_prefix)).toBe(403);
    }
    const within = await postJson(apps.all, '/api/v1/tokens', { name: 'sub-admin', scopes: ['admin'], project_prefix: 'team/alpha' }, asTeamAdmin);
    expect(within.status).toBe(201);
    for (const id of [unrestricted.id, otherTeam.id]) {
      expect((await apps.all.request(`/api/v1/tokens/${id}`, { method: 'DELETE', headers: asTeamAdmin })).status).toBe(404);
    }
    const after = (await (await apps.all.request('/api/v1/tokens', { headers: bearer(ADMIN_TOKEN) })).json()) as { id: number; revoked_at: string | null }[];
    expect(after.find((t) => t.id === unrestricted.id)!.revoked_at).toBeNull();
    expect(after.find((t) => t.id === otherTeam.id)!.revoked_at).toBeNull();
  });

  test('token creation validates scopes and names the field', async () => {
    const response = await postJson(apps.all, '/api/v1/tokens', { name: 'x', scopes: ['root'] }, bearer(ADMIN_TOKEN));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain('scopes.0');
  });
});

describe('credential parsing and project prefixes', () => {
  test('a JWT-shaped bearer is a CI id_token; the session cookie counts only without an Authorization header', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    expect(presentedCredential(`Bearer ${jwt}`)).toEqual({ kind: 'id-token', jwt });
    expect(presentedCredential(`Basic ${btoa(`ci:${jwt}`)}`)).toEqual({ kind: 'id-token', jwt });
    expect(presentedCredential('Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toEqual({ kind: 'id-token', jwt: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' });
    const cookie = 'theme=dark; __Host-qaboard-session=abc; other=1';
    expect(presentedCredential(undefined, cookie)).toEqual({ kind: 'session', secret: 'abc' });
    expect(presentedCredential('Bearer qab_x', cookie)).toEqual({ kind: 'token', token: 'qab_x' });
    expect(presentedCredential(undefined, 'qaboard-session=abc')).toEqual({ kind: 'none' });
  });

  test('Bearer, Basic user:token, Basic token-as-user; an unreadable header is malformed, not "no token"', () => {
    const token = (value: string) => ({ kind: 'token', token: value });
    expect(presentedCredential('Bearer abc')).toEqual(token('abc'));
    expect(presentedCredential(`Basic ${btoa('me:s3cret:with:colons')}`)).toEqual(token('s3cret:with:colons'));
    expect(presentedCredential(`Basic ${btoa('tok')}`)).toEqual(token('tok'));
    expect(presentedCredential(`basic ${btoa('tok:')}`)).toEqual(token('tok'));
    for (const malformed of ['Digest abc', 'Basic %%%', 'Bearer', '', 'Bearer a b', `Basic ${btoa(':')}`]) {
      expect(presentedCredential(malformed), malformed).toEqual({ kind: 'malformed' });
    }
    expect(presentedCredential(undefined)).toEqual({ kind: 'none' });
  });

  test('a caller acts on a project only with a grant holding the scope the request needs', () => {
    const grace: Caller = {
      id: 'user:1',
      acting: 'write',
      grants: [
        { projectPrefix: 'vision/isp', scopes: ['write'] },
        { projectPrefix: 'team/alpha', scopes: ['read'] },
      ],
    };
    expect(canSeeProject(grace, 'vision/isp/hdr')).toBe(true);
    // A by-id write checked with canSeeProject is refused where the caller may only read…
    expect(canSeeProject(grace, 'team/alpha')).toBe(false);
    expect(projectAccess(grace, 'team/alpha')).toBe('read-only');
    expect(projectAccess(grace, 'other/beta')).toBe('invisible');
    // …and allowed for a read.
    expect(canSeeProject({ ...grace, acting: 'read' }, 'team/alpha')).toBe(true);
  });

  test('prefixes match whole path segments', () => {
    expect(projectWithin('group/repo', 'group/repo')).toBe(true);
    expect(projectWithin('group/repo', 'group/repo/sub')).toBe(true);
    expect(projectWithin('group/repo', 'group/repo2')).toBe(false);
    expect(projectWithin('group/', 'group/any')).toBe(true);
    expect(projectWithin('group/', 'groupie/any')).toBe(false);
    expect(projectWithin(null, 'anything')).toBe(true);
  });
});
