/**
 * A fake GitLab for tests and benchmarks, speaking the documented REST shapes the integration
 * uses: repository tree (recursive, keyset pagination with `Link` headers), raw files, commits
 * (with their latest pipeline), the branches containing a commit; pipelines (created on a branch
 * with variables — a ref no commit is on answers 400 "Reference not found" —, cancelled, read with
 * their variables); and sign-in, CI id_token keys, users, memberships and jobs
 * (fake-gitlab-identity.ts). It can answer slowly, or fail (429 + Retry-After, 5xx, or a 4xx with a
 * message). Repository routes take the server's `PRIVATE-TOKEN`, or a user's OAuth token when the
 * user can read the project.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerUser, identityRoute, newFakeIdentity, type FakeIdentity } from './fake-gitlab-identity';

export type { FakeJob, FakeUser } from './fake-gitlab-identity';

export interface FakeCommit {
  message: string;
  author_name: string;
  author_email?: string;
  authored_date: string;
  parent_ids: string[];
  branches: string[];
}

export interface FakeRepository {
  /** `path_with_namespace` */
  path: string;
  /** Files at every commit of the repository (tests vary them between pushes). */
  files: Record<string, string>;
  commits: Record<string, FakeCommit>;
}

export interface FakeFailure {
  /** Which requests fail (matched against the decoded path). */
  match: RegExp;
  status: 403 | 429 | 500 | 502;
  retryAfter?: number;
  /** GitLab's `message` (default: the status). */
  message?: string;
  /** How many matching requests fail (Infinity: all). */
  times: number;
}

export interface FakePipeline {
  id: number;
  project: string;
  ref: string;
  status: 'created' | 'canceled';
  variables: { key: string; value: string; variable_type: 'env_var' | 'file' }[];
}

export interface FakeGitLab {
  url: string;
  token: string;
  repositories: Map<string, FakeRepository>;
  /** Pipelines created, in order. */
  pipelines: FakePipeline[];
  /** Decoded paths (with query) of the requests received, in order. */
  requests: string[];
  failures: FakeFailure[];
  delayMs: number;
  identity: FakeIdentity;
  close(): Promise<void>;
}

const TREE_PAGE = /^\/api\/v4\/projects\/([^/]+)\/repository\/tree$/;
const RAW_FILE = /^\/api\/v4\/projects\/([^/]+)\/repository\/files\/([^/]+)\/raw$/;
const COMMIT_REFS = /^\/api\/v4\/projects\/([^/]+)\/repository\/commits\/([0-9a-f]+)\/refs$/;
const COMMIT = /^\/api\/v4\/projects\/([^/]+)\/repository\/commits\/([0-9a-f]+)$/;
const NEW_PIPELINE = /^\/api\/v4\/projects\/([^/]+)\/pipeline$/;
const PIPELINE = /^\/api\/v4\/projects\/([^/]+)\/pipelines\/(\d+)(\/cancel|\/variables)?$/;

/** The tree GitLab lists: every file and every folder above one. */
function treeEntries(files: Record<string, string>) {
  const paths = new Map<string, 'blob' | 'tree'>();
  for (const file of Object.keys(files)) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) paths.set(parts.slice(0, i).join('/'), 'tree');
    paths.set(file, 'blob');
  }
  return [...paths].sort(([a], [b]) => a.localeCompare(b)).map(([path, type]) => ({
    id: path.length.toString(16).padStart(40, '0'),
    name: path.split('/').pop()!,
    type,
    path,
    mode: type === 'tree' ? '040000' : '100644',
  }));
}

async function text(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeGitLab(repositories: FakeRepository[], token = 'gitlab-test-token'): Promise<FakeGitLab> {
  const fake: FakeGitLab = {
    url: '',
    token,
    repositories: new Map(repositories.map((r) => [r.path, r])),
    pipelines: [],
    requests: [],
    failures: [],
    delayMs: 0,
    identity: newFakeIdentity(),
    close: async () => {},
  };
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url!, 'http://gitlab.test');
    const rawPath = url.pathname;
    fake.requests.push(decodeURIComponent(rawPath) + url.search);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const raw = typeof body === 'string' || Buffer.isBuffer(body);
      response.writeHead(status, { 'content-type': raw ? 'text/plain' : 'application/json', ...headers });
      response.end(raw ? body : JSON.stringify(body));
    };
    if (fake.delayMs) await new Promise((resolve) => setTimeout(resolve, fake.delayMs));
    const failure = fake.failures.find((f) => f.times > 0 && f.match.test(decodeURIComponent(rawPath)));
    if (failure) {
      failure.times--;
      const headers: Record<string, string> = failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) };
      return send(failure.status, { message: failure.message ?? `${failure.status}` }, headers);
    }
    if (await identityRoute(fake.identity, request, url, send)) return;
    const user = bearerUser(fake.identity, request);
    if (request.headers['private-token'] !== token && !user) return send(401, { message: '401 Unauthorized' });
    if (request.method === 'POST') return handlePipelinePost(rawPath, JSON.parse((await text(request)) || '{}'), send);
    const pipelineRead = rawPath.match(PIPELINE);
    if (pipelineRead) {
      const pipeline = fake.pipelines.find((p) => p.id === Number(pipelineRead[2]) && p.project === decodeURIComponent(pipelineRead[1]!));
      if (!pipeline) return send(404, { message: '404 Not found' });
      return pipelineRead[3] === '/variables' ? send(200, pipeline.variables) : send(200, pipelineJson(pipeline));
    }
    const route = [TREE_PAGE, RAW_FILE, COMMIT_REFS, COMMIT].map((re) => rawPath.match(re)).find(Boolean);
    const repository = route && fake.repositories.get(decodeURIComponent(route[1]!));
    if (!route || !repository || (user && (user.memberships[repository.path] ?? 0) < 20)) return send(404, { message: '404 Project Not Found' });

    if (TREE_PAGE.test(rawPath)) {
      const perPage = Number(url.searchParams.get('per_page') ?? 20);
      const entries = treeEntries(repository.files);
      const after = url.searchParams.get('page_token');
      const start = after ? entries.findIndex((e) => e.path === after) + 1 : 0;
      const page = entries.slice(start, start + perPage);
      const headers: Record<string, string> = {};
      if (start + perPage < entries.length) {
        const next = new URL(url.toString());
        next.host = request.headers.host!;
        next.searchParams.set('page_token', page[page.length - 1]!.path);
        headers.link = `<${next.toString()}>; rel="next"`;
      }
      return send(200, page, headers);
    }
    if (RAW_FILE.test(rawPath)) {
      const content = repository.files[decodeURIComponent(route[2]!)];
      return content === undefined ? send(404, { message: '404 File Not Found' }) : send(200, content);
    }
    const commit = repository.commits[route[2]!];
    if (!commit) return send(404, { message: '404 Commit Not Found' });
    if (COMMIT_REFS.test(rawPath)) return send(200, commit.branches.map((name) => ({ type: 'branch', name })));
    const { branches: _, ...fields } = commit;
    const pipeline = fake.identity.pipelines.get(`${repository.path}:${route[2]}`);
    return send(200, {
      id: route[2],
      short_id: route[2]!.slice(0, 8),
      title: commit.message.split('\n')[0],
      ...fields,
      last_pipeline: pipeline ? { id: pipeline.id, status: 'success' } : null,
    });
  });
  const pipelineJson = (pipeline: FakePipeline) => ({
    id: pipeline.id,
    iid: pipeline.id,
    project_id: 1207,
    ref: pipeline.ref,
    status: pipeline.status,
    source: 'api',
    web_url: `${fake.url}/${pipeline.project}/-/pipelines/${pipeline.id}`,
  });

  type Send = (status: number, body: unknown) => void;
  function handlePipelinePost(rawPath: string, body: { ref?: string; variables?: FakePipeline['variables'] }, send: Send) {
    const created = rawPath.match(NEW_PIPELINE);
    if (created) {
      const repository = fake.repositories.get(decodeURIComponent(created[1]!));
      if (!repository) return send(404, { message: '404 Project Not Found' });
      const branches = new Set(Object.values(repository.commits).flatMap((c) => c.branches));
      if (!body.ref || !branches.has(body.ref)) return send(400, { message: { base: ['Reference not found'] } });
      const pipeline: FakePipeline = {
        id: 9000 + fake.pipelines.length + 1,
        project: repository.path,
        ref: body.ref,
        status: 'created',
        variables: (body.variables ?? []).map((v) => ({ key: v.key, value: v.value, variable_type: v.variable_type ?? 'env_var' })),
      };
      fake.pipelines.push(pipeline);
      return send(201, pipelineJson(pipeline));
    }
    const cancel = rawPath.match(PIPELINE);
    const pipeline = cancel?.[3] === '/cancel' && fake.pipelines.find((p) => p.id === Number(cancel[2]) && p.project === decodeURIComponent(cancel[1]!));
    if (!pipeline) return send(404, { message: '404 Not found' });
    pipeline.status = 'canceled';
    return send(200, pipelineJson(pipeline));
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}
