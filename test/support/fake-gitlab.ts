/**
 * A fake GitLab for tests and benchmarks, speaking the documented REST shapes the integration
 * uses: repository tree (recursive, keyset pagination with `Link` headers), raw files, commits
 * (with their latest pipeline), the branches containing a commit; pipelines (created on a branch
 * with variables — a ref no commit is on answers 400 "Reference not found" —, cancelled, read with
 * their variables); commit statuses (refusing, as GitLab does, to set a status to the state it
 * already has), the merge requests of a commit, and merge-request notes (offset pagination with
 * `Link` headers; create, update); and sign-in, CI id_token keys, users, memberships and jobs
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

export interface FakeStatus {
  id: number;
  sha: string;
  name: string;
  status: string;
  description: string | null;
  target_url: string | null;
}

export interface FakeNote {
  id: number;
  body: string;
  system: boolean;
}

export interface FakeMergeRequest {
  iid: number;
  state: 'opened' | 'merged' | 'closed';
  /** Its head commit. */
  sha: string;
  /** Commits in the merge request (the head included). */
  commits: string[];
  notes: FakeNote[];
}

export interface FakeRepository {
  /** `path_with_namespace` */
  path: string;
  /** Files at every commit of the repository (tests vary them between pushes). */
  files: Record<string, string>;
  commits: Record<string, FakeCommit>;
  /** Commit statuses as posted, each post that GitLab accepted (the current one per name is the last). */
  statuses?: FakeStatus[];
  mergeRequests?: FakeMergeRequest[];
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
  /** The same with their method and JSON body. */
  calls: { method: string; path: string; body?: Record<string, unknown> }[];
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

const STATUS = /^\/api\/v4\/projects\/([^/]+)\/statuses\/([0-9a-f]+)$/;
const COMMIT_STATUSES = /^\/api\/v4\/projects\/([^/]+)\/repository\/commits\/([0-9a-f]+)\/statuses$/;
const COMMIT_MERGE_REQUESTS = /^\/api\/v4\/projects\/([^/]+)\/repository\/commits\/([0-9a-f]+)\/merge_requests$/;
const NOTES = /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes$/;
const NOTE = /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes\/(\d+)$/;
const ROUTES = [TREE_PAGE, RAW_FILE, COMMIT_REFS, COMMIT, STATUS, COMMIT_STATUSES, COMMIT_MERGE_REQUESTS, NOTES, NOTE];

/** GitLab's names for the transitions to each state (its error message names them). */
const TRANSITIONS: Record<string, string> = { pending: 'enqueue', running: 'run', success: 'succeed', failed: 'drop', canceled: 'cancel' };

function mergeRequestJson(repository: FakeRepository, mr: FakeMergeRequest) {
  return { id: 1000 + mr.iid, iid: mr.iid, project_id: 1207, title: `MR !${mr.iid}`, state: mr.state, sha: mr.sha, web_url: `https://gitlab.test/${repository.path}/-/merge_requests/${mr.iid}` };
}

/** An offset page of `items` (`page`, `per_page`), with a `Link: rel="next"` while more remain. */
function offsetPage<T>(items: T[], url: URL, host: string): { page: T[]; headers: Record<string, string> } {
  const perPage = Number(url.searchParams.get('per_page') ?? 20);
  const page = Number(url.searchParams.get('page') ?? 1);
  const headers: Record<string, string> = {};
  if (page * perPage < items.length) {
    const next = new URL(url.toString());
    next.host = host;
    next.searchParams.set('page', String(page + 1));
    headers.link = `<${next.toString()}>; rel="next"`;
  }
  return { page: items.slice((page - 1) * perPage, page * perPage), headers };
}

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
    calls: [],
    failures: [],
    delayMs: 0,
    identity: newFakeIdentity(),
    close: async () => {},
  };
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url!, 'http://gitlab.test');
    const rawPath = url.pathname;
    fake.requests.push(decodeURIComponent(rawPath) + url.search);
    const call: FakeGitLab['calls'][number] = { method: request.method!, path: decodeURIComponent(rawPath) + url.search };
    fake.calls.push(call);
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
    const body = request.method === 'POST' || request.method === 'PUT' ? (JSON.parse((await text(request)) || '{}') as Record<string, unknown>) : undefined;
    if (body) call.body = body;
    if (request.method === 'POST' && (NEW_PIPELINE.test(rawPath) || PIPELINE.test(rawPath))) return handlePipelinePost(rawPath, body!, send);
    const pipelineRead = rawPath.match(PIPELINE);
    if (pipelineRead) {
      const pipeline = fake.pipelines.find((p) => p.id === Number(pipelineRead[2]) && p.project === decodeURIComponent(pipelineRead[1]!));
      if (!pipeline) return send(404, { message: '404 Not found' });
      return pipelineRead[3] === '/variables' ? send(200, pipeline.variables) : send(200, pipelineJson(pipeline));
    }
    const route = ROUTES.map((re) => rawPath.match(re)).find(Boolean);
    const repository = route && fake.repositories.get(decodeURIComponent(route[1]!));
    if (!route || !repository || (user && (user.memberships[repository.path] ?? 0) < 20)) return send(404, { message: '404 Project Not Found' });

    if (STATUS.test(rawPath) && request.method === 'POST') {
      const sha = route[2]!;
      const { state, name, description, target_url } = (body ?? {}) as Record<string, string | undefined>;
      if (!state || !(state in TRANSITIONS)) return send(400, { message: 'state does not have a valid value' });
      if (!repository.commits[sha]) return send(404, { message: '404 Commit Not Found' });
      if (description && description.length > 255) return send(400, { message: { description: ['is too long (maximum is 255 characters)'] } });
      const statuses = (repository.statuses ??= []);
      const current = statuses.filter((st) => st.sha === sha && st.name === (name ?? 'default')).at(-1);
      if (current?.status === state) {
        const event = TRANSITIONS[state]!;
        return send(400, { message: `Cannot transition status via :${event} from :${state} (Reason(s): Status cannot transition via "${event}")` });
      }
      const status = { id: statuses.length + 1, sha, name: name ?? 'default', status: state, description: description ?? null, target_url: target_url ?? null };
      statuses.push(status);
      return send(201, { ...status, ref: null, allow_failure: false, created_at: new Date().toISOString() });
    }
    if (COMMIT_STATUSES.test(rawPath)) {
      const latest = new Map((repository.statuses ?? []).filter((st) => st.sha === route[2]).map((st) => [st.name, st]));
      return send(200, [...latest.values()]);
    }
    if (COMMIT_MERGE_REQUESTS.test(rawPath)) {
      const mergeRequests = (repository.mergeRequests ?? []).filter((mr) => mr.commits.includes(route[2]!));
      const { page, headers } = offsetPage(mergeRequests.map((mr) => mergeRequestJson(repository, mr)), url, request.headers.host!);
      return send(200, page, headers);
    }
    if (NOTES.test(rawPath) || NOTE.test(rawPath)) {
      const mergeRequest = repository.mergeRequests?.find((mr) => mr.iid === Number(route[2]));
      if (!mergeRequest) return send(404, { message: '404 Merge Request Not Found' });
      const noteJson = (note: FakeNote) => ({ ...note, noteable_type: 'MergeRequest', noteable_iid: mergeRequest.iid, author: { id: 1, username: 'qaboard-bot' } });
      if (NOTES.test(rawPath) && request.method === 'POST') {
        if (typeof body?.body !== 'string' || !body.body) return send(400, { message: '400 Bad request - body is missing' });
        const note = { id: 5000 + Math.floor(Math.random() * 1e6), body: body.body, system: false };
        mergeRequest.notes.push(note);
        return send(201, noteJson(note));
      }
      if (NOTES.test(rawPath)) {
        const { page, headers } = offsetPage(mergeRequest.notes.map(noteJson), url, request.headers.host!);
        return send(200, page, headers);
      }
      const note = mergeRequest.notes.find((n) => n.id === Number(route[3]));
      if (!note || request.method !== 'PUT') return send(404, { message: '404 Note Not Found' });
      if (typeof body?.body !== 'string' || !body.body) return send(400, { message: '400 Bad request - body is missing' });
      note.body = body.body;
      return send(200, noteJson(note));
    }

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
