/**
 * A fake GitLab for tests and benchmarks, speaking the documented REST shapes the integration
 * uses: repository tree (recursive, keyset pagination with `Link` headers), raw files, commits
 * (with their latest pipeline), the branches containing a commit; and sign-in, CI id_token keys,
 * users, memberships and jobs (fake-gitlab-identity.ts). It can answer slowly, or fail
 * (429 + Retry-After, 500). Repository routes take the server's `PRIVATE-TOKEN`, or a user's OAuth
 * token when the user can read the project.
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
  status: 429 | 500 | 502;
  retryAfter?: number;
  /** How many matching requests fail (Infinity: all). */
  times: number;
}

export interface FakeGitLab {
  url: string;
  token: string;
  repositories: Map<string, FakeRepository>;
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

export async function startFakeGitLab(repositories: FakeRepository[], token = 'gitlab-test-token'): Promise<FakeGitLab> {
  const fake: FakeGitLab = {
    url: '',
    token,
    repositories: new Map(repositories.map((r) => [r.path, r])),
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
      return send(failure.status, { message: `${failure.status}` }, failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) });
    }
    if (await identityRoute(fake.identity, request, url, send)) return;
    const user = bearerUser(fake.identity, request);
    if (request.headers['private-token'] !== token && !user) return send(401, { message: '401 Unauthorized' });
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
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}
