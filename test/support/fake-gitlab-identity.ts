/**
 * The identity side of the fake GitLab, in GitLab's documented shapes: an OAuth 2.0 provider with
 * PKCE (`/oauth/authorize` approves at once for `signedInAs`, `/oauth/token` checks the client, the
 * redirect URI and the S256 code verifier, rotates refresh tokens; `/oauth/revoke`), the CI
 * id_token keys (`/oauth/discovery/keys`), users (`/api/v4/user`, `/api/v4/avatar`), memberships
 * (`/api/v4/projects?min_access_level=`, keyset pages), pipelines and jobs
 * (`/projects/:id/pipelines/:id/jobs`, `/jobs/:id`, `/jobs/:id/play` — Developer and up), and
 * static images with redirects for the proxy.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { SigningKey } from './ci-id-tokens';

export interface FakeUser {
  id: number;
  username: string;
  name: string;
  email: string;
  avatar_url: string | null;
  state: 'active' | 'blocked';
  /** path_with_namespace → access level (20 Reporter, 30 Developer, 40 Maintainer…), inherited ones included. */
  memberships: Record<string, number>;
}

export interface FakeJob {
  id: number;
  name: string;
  status: string;
  allow_failure?: boolean;
}

export interface FakeImage {
  type: string;
  body: Buffer;
  delayMs?: number;
  /** Sent without Content-Length. */
  chunked?: boolean;
}

export interface FakeIdentity {
  client: { id: string; secret: string };
  users: Map<string, FakeUser>;
  /** Who the fake GitLab's browser session belongs to: `/oauth/authorize` approves for them. */
  signedInAs?: string;
  signingKeys: SigningKey[];
  accessTokenSeconds: number;
  /** Access and refresh tokens issued, by value. */
  tokens: Map<string, { username: string; kind: 'access' | 'refresh'; expiresAt: number; revoked: boolean }>;
  /** Pipelines by `project path:sha`. */
  pipelines: Map<string, { id: number; jobs: FakeJob[] }>;
  /** Plays received: `project:jobId:username`. */
  played: string[];
  /** Paths served as images (`/uploads/...`), and paths that redirect. */
  images: Map<string, FakeImage>;
  redirects: Map<string, string>;
  /** Headers of the image requests received (the proxy must send no credentials). */
  imageRequestHeaders: IncomingHttpHeaders[];
}

export function newFakeIdentity(): FakeIdentity {
  return {
    client: { id: 'qaboard-oauth-app', secret: 'qaboard-oauth-secret' },
    users: new Map(),
    signingKeys: [],
    accessTokenSeconds: 7200,
    tokens: new Map(),
    pipelines: new Map(),
    played: [],
    images: new Map(),
    redirects: new Map(),
    imageRequestHeaders: [],
  };
}

type Send = (status: number, body: unknown, headers?: Record<string, string>) => void;

const codes = new Map<string, { username: string; challenge: string; redirectUri: string }>();

async function formBody(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

function issueTokens(identity: FakeIdentity, username: string) {
  const access = `glpat-oauth-${randomBytes(12).toString('hex')}`;
  const refresh = `glrt-${randomBytes(12).toString('hex')}`;
  identity.tokens.set(access, { username, kind: 'access', expiresAt: Date.now() + identity.accessTokenSeconds * 1000, revoked: false });
  identity.tokens.set(refresh, { username, kind: 'refresh', expiresAt: Infinity, revoked: false });
  return { access_token: access, token_type: 'Bearer', expires_in: identity.accessTokenSeconds, refresh_token: refresh, scope: 'api', created_at: Math.floor(Date.now() / 1000) };
}

/** The user a request's OAuth bearer token belongs to (undefined: none, or not valid). */
export function bearerUser(identity: FakeIdentity, request: IncomingMessage): FakeUser | undefined {
  const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
  const issued = token ? identity.tokens.get(token) : undefined;
  if (!issued || issued.kind !== 'access' || issued.revoked || issued.expiresAt < Date.now()) return undefined;
  const user = identity.users.get(issued.username);
  return user?.state === 'active' ? user : undefined;
}

const PROJECTS = /^\/api\/v4\/projects$/;
const PIPELINE_JOBS = /^\/api\/v4\/projects\/([^/]+)\/pipelines\/(\d+)\/jobs$/;
const JOB = /^\/api\/v4\/projects\/([^/]+)\/jobs\/(\d+)(\/play)?$/;

/** Answers the identity routes; false when the request is not one of them. */
export async function identityRoute(identity: FakeIdentity, request: IncomingMessage, url: URL, send: Send): Promise<boolean> {
  const path = url.pathname;
  if (identity.redirects.has(path)) {
    send(302, '', { location: identity.redirects.get(path)! });
    return true;
  }
  const image = identity.images.get(path);
  if (image) {
    identity.imageRequestHeaders.push(request.headers);
    if (image.delayMs) await new Promise((resolve) => setTimeout(resolve, image.delayMs));
    send(200, image.body, { 'content-type': image.type, ...(image.chunked && { 'transfer-encoding': 'chunked' }) });
    return true;
  }
  if (path.startsWith('/uploads/')) {
    send(404, { message: '404 Not Found' });
    return true;
  }
  if (path === '/oauth/discovery/keys') {
    send(200, { keys: identity.signingKeys.map((key) => key.publicJwk) });
    return true;
  }
  if (path === '/oauth/authorize') {
    const q = url.searchParams;
    const redirect = new URL(q.get('redirect_uri')!);
    if (q.get('client_id') !== identity.client.id || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
      redirect.searchParams.set('error', 'invalid_request');
    } else if (!identity.signedInAs) {
      redirect.searchParams.set('error', 'access_denied');
    } else {
      const code = randomBytes(16).toString('hex');
      codes.set(code, { username: identity.signedInAs, challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')! });
      redirect.searchParams.set('code', code);
    }
    redirect.searchParams.set('state', q.get('state') ?? '');
    send(302, '', { location: redirect.toString() });
    return true;
  }
  if (path === '/oauth/token' || path === '/oauth/revoke') {
    const form = await formBody(request);
    const expected = `Basic ${Buffer.from(`${identity.client.id}:${identity.client.secret}`).toString('base64')}`;
    if (request.headers.authorization !== expected) {
      send(401, { error: 'invalid_client' });
      return true;
    }
    if (path === '/oauth/revoke') {
      const issued = identity.tokens.get(form.get('token') ?? '');
      if (issued) issued.revoked = true;
      send(200, {});
      return true;
    }
    if (form.get('grant_type') === 'authorization_code') {
      const pending = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const valid = pending && pending.redirectUri === form.get('redirect_uri') && pending.challenge === s256(form.get('code_verifier') ?? '');
      if (!valid) send(400, { error: 'invalid_grant', error_description: 'The provided authorization grant is invalid.' });
      else send(200, issueTokens(identity, pending.username));
      return true;
    }
    if (form.get('grant_type') === 'refresh_token') {
      const issued = identity.tokens.get(form.get('refresh_token') ?? '');
      if (!issued || issued.kind !== 'refresh' || issued.revoked) send(400, { error: 'invalid_grant' });
      else {
        issued.revoked = true;
        send(200, issueTokens(identity, issued.username));
      }
      return true;
    }
    send(400, { error: 'unsupported_grant_type' });
    return true;
  }
  if (path === '/api/v4/avatar') {
    const user = [...identity.users.values()].find((u) => u.email === url.searchParams.get('email'));
    send(200, { avatar_url: user?.avatar_url ?? `https://www.gravatar.com/avatar/${createHash('md5').update(url.searchParams.get('email') ?? '').digest('hex')}` });
    return true;
  }
  const isUserRoute = path === '/api/v4/user' || PROJECTS.test(path) || PIPELINE_JOBS.test(path) || JOB.test(path);
  if (!isUserRoute) return false;
  const user = bearerUser(identity, request);
  if (!user) {
    send(401, { message: '401 Unauthorized' });
    return true;
  }
  if (path === '/api/v4/user') {
    const { memberships: _, ...profile } = user;
    send(200, profile);
    return true;
  }
  if (PROJECTS.test(path)) {
    const minLevel = Number(url.searchParams.get('min_access_level') ?? 0);
    const perPage = Number(url.searchParams.get('per_page') ?? 20);
    const after = Number(url.searchParams.get('id_after') ?? 0);
    const projects = Object.entries(user.memberships)
      .filter(([, level]) => level >= minLevel)
      .map(([path_with_namespace], i) => ({ id: i + 1, path_with_namespace }))
      .filter((p) => p.id > after);
    const page = projects.slice(0, perPage);
    const headers: Record<string, string> = {};
    if (projects.length > perPage) {
      const next = new URL(url.toString());
      next.host = request.headers.host!;
      next.searchParams.set('id_after', String(page.at(-1)!.id));
      headers.link = `<${next.toString()}>; rel="next"`;
    }
    send(200, page, headers);
    return true;
  }
  const [, encodedProject, id, play] = (PIPELINE_JOBS.exec(path) ?? JOB.exec(path))!;
  const project = decodeURIComponent(encodedProject!);
  const level = user.memberships[project] ?? 0;
  if (level < 20) {
    send(404, { message: '404 Project Not Found' });
    return true;
  }
  const pipelines = [...identity.pipelines.entries()].filter(([key]) => key.startsWith(`${project}:`)).map(([, p]) => p);
  if (PIPELINE_JOBS.test(path)) {
    const pipeline = pipelines.find((p) => p.id === Number(id));
    send(pipeline ? 200 : 404, pipeline ? pipeline.jobs.map((job) => jobJson(project, job)) : { message: '404 Not found' });
    return true;
  }
  const job = pipelines.flatMap((p) => p.jobs).find((j) => j.id === Number(id));
  if (!job) send(404, { message: '404 Job Not Found' });
  else if (play && level < 30) send(403, { message: '403 Forbidden' });
  else {
    if (play) {
      identity.played.push(`${project}:${job.id}:${user.username}`);
      job.status = 'pending';
    }
    send(200, jobJson(project, job));
  }
  return true;
}

const jobJson = (project: string, job: FakeJob) => ({
  allow_failure: false,
  ...job,
  stage: 'deploy',
  web_url: `https://gitlab.example.com/${project}/-/jobs/${job.id}`,
});
