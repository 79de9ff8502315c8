/**
 * A small GitLab REST API client (fetch-based: no dependency, a few KB in the Worker bundle).
 * GitLab's answers are untrusted input: every response is validated with zod, and pagination
 * links are followed only on the configured GitLab.
 *
 * Failures are classified for the queue: 404 → `GitLabNotFound` (permanent: log and move on);
 * 429, 5xx, timeouts and network errors → a quick retry in place (reads and other idempotent
 * calls only), then `RetryLater` (honouring `Retry-After`) so the queue retries with backoff;
 * anything else → `GitLabError` (permanent), with GitLab's reason.
 *
 * The server's token reads with the `read_api` scope; creating and cancelling pipelines (run
 * requests) and posting regression verdicts (commit statuses, merge-request notes) need the `api` scope.
 */
import { z } from '@hono/zod-openapi';
import type { PipelineVariable } from '../domain/run-requests/pipeline-variables';
import { RetryLater } from '../jobs/job-queue';
import { gitlabUrl } from './gitlab-urls';

export class GitLabNotFound extends Error {}
export class GitLabError extends Error {
  constructor(
    message: string,
    /** GitLab's HTTP status, when it answered one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface GitLabClientOptions {
  /** e.g. https://gitlab.com (without /api/v4) */
  url: string;
  /** A token with the `read_api` scope: the server's (`private`), or a signed-in user's OAuth token (`oauth`). */
  token: string;
  tokenKind?: 'private' | 'oauth';
  timeoutMs: number;
  /** Delay before the in-place retry (tests shorten it). */
  retryDelayMs?: number;
}

const treeEntry = z.object({ id: z.string(), name: z.string(), type: z.string(), path: z.string() });
export type TreeEntry = z.infer<typeof treeEntry>;

const commitSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{40,64}$/),
  message: z.string(),
  author_name: z.string(),
  author_email: z.string().nullish(),
  authored_date: z.string(),
  parent_ids: z.array(z.string()),
});
export type GitLabCommit = z.infer<typeof commitSchema>;

const refsSchema = z.array(z.object({ type: z.string(), name: z.string() }));

const userSchema = z.object({
  id: z.number().int(),
  username: z.string().min(1),
  name: z.string(),
  email: z.string().nullish(),
  avatar_url: z.string().nullish(),
  state: z.string().optional(),
});
export type GitLabUser = z.infer<typeof userSchema>;

const projectPathSchema = z.array(z.object({ path_with_namespace: z.string().min(1) }));

/** A CI job as GitLab describes it: the web app reads `id`, `status`, `allow_failure`, `web_url`; the rest passes through. */
export const gitlabJobSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  status: z.string(),
  allow_failure: z.boolean().optional(),
  web_url: z.string().optional(),
});
export type GitLabJobInfo = z.infer<typeof gitlabJobSchema>;

const pipelineSchema = z.object({ id: z.number().int().positive(), web_url: z.string(), status: z.string() });
export type GitLabPipeline = z.infer<typeof pipelineSchema>;

/** GitLab's reason in an error body: `{"message": "…"}`, `{"message": {"base": ["…"]}}`, `{"error": "…"}`. */
function reasonOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { message, error, error_description } = body as Record<string, unknown>;
  const flat = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : Array.isArray(value) ? value.flatMap(flat) : typeof value === 'object' && value ? Object.values(value).flatMap(flat) : [];
  const reasons = [...flat(message), ...flat(error_description ?? error)];
  return reasons.length ? reasons.join('; ').slice(0, 1000) : undefined;
}

/** `: <reason>` from an error response's body, when GitLab gave one. */
async function reasonSuffix(response: Response): Promise<string> {
  const reason = reasonOf(await response.json().catch(() => undefined));
  return reason ? `: ${reason}` : '';
}

const commitStatusSchema = z.object({ id: z.number(), status: z.string(), name: z.string().nullable() });
export type CommitStatusState = 'pending' | 'running' | 'success' | 'failed' | 'canceled';
export interface CommitStatus {
  state: CommitStatusState;
  /** Statuses of a commit are told apart by name. */
  name: string;
  /** At most 255 characters. */
  description: string;
  targetUrl?: string;
}

const mergeRequestSchema = z.object({ iid: z.number(), state: z.string(), sha: z.string().nullable(), web_url: z.string() });
export type GitLabMergeRequest = z.infer<typeof mergeRequestSchema>;

const noteSchema = z.object({ id: z.number(), body: z.string(), system: z.boolean().optional() });
export type GitLabNote = z.infer<typeof noteSchema>;

/** GitLab refuses to set a status to the state it already has (`Cannot transition status via :succeed from :success`). */
const ALREADY_IN_STATE = /cannot transition status/i;

const commitPipelineSchema = z.object({ last_pipeline: z.object({ id: z.number().int() }).nullish() });
const avatarSchema = z.object({ avatar_url: z.string().nullish() });

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date). */
function retryAfterSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The `rel="next"` URL of a `Link` header. */
function nextLink(header: string | null): string | undefined {
  return header?.split(',').map((part) => part.match(/<([^>]+)>\s*;\s*rel="next"/)?.[1]).find(Boolean);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const QUICK_RETRY_MAX_SECONDS = 1;

export class GitLabClient {
  private readonly api: string;

  constructor(private readonly options: GitLabClientOptions) {
    this.api = `${options.url}/api/v4`;
  }

  /** `GET /projects/:id/repository/commits/:sha` */
  async commit(project: string, sha: string): Promise<GitLabCommit> {
    const response = await this.get(`${this.projectUrl(project)}/repository/commits/${encodeURIComponent(sha)}`);
    return this.parse(commitSchema, await response.json(), 'commit');
  }

  /** Names of the branches that contain the commit. */
  async branchesOf(project: string, sha: string): Promise<string[]> {
    const url = `${this.projectUrl(project)}/repository/commits/${encodeURIComponent(sha)}/refs?type=branch&per_page=100`;
    const refs = this.parse(refsSchema, await (await this.get(url)).json(), 'refs');
    return refs.filter((ref) => ref.type === 'branch').map((ref) => ref.name);
  }

  /** Every file of the tree at `ref`: recursive listing, keyset pagination. */
  tree(project: string, ref: string): Promise<TreeEntry[]> {
    const url = `${this.projectUrl(project)}/repository/tree?ref=${encodeURIComponent(ref)}&recursive=true&per_page=100&pagination=keyset`;
    return this.allPages(url, treeEntry, 'tree');
  }

  /** `GET /user`: whose token this is. */
  async currentUser(): Promise<GitLabUser> {
    return this.parse(userSchema, await (await this.get(`${this.api}/user`)).json(), 'user');
  }

  /** Paths of the projects where the token's user has at least `minAccessLevel` (memberships, inherited ones too). */
  async projectPathsWithAccess(minAccessLevel: number, maxPages: number): Promise<string[]> {
    const url = `${this.api}/projects?min_access_level=${minAccessLevel}&simple=true&per_page=100&pagination=keyset&order_by=id&sort=asc`;
    const projects = await this.allPages(url, projectPathSchema.element, 'projects', maxPages);
    return projects.map((p) => p.path_with_namespace);
  }

  /** The id of the commit's latest pipeline, if any. */
  async lastPipelineOf(project: string, sha: string): Promise<number | undefined> {
    const response = await this.get(`${this.projectUrl(project)}/repository/commits/${encodeURIComponent(sha)}`);
    return this.parse(commitPipelineSchema, await response.json(), 'commit').last_pipeline?.id;
  }

  /** The jobs of a pipeline, in GitLab's order. */
  pipelineJobs(project: string, pipelineId: number): Promise<GitLabJobInfo[]> {
    return this.allPages(`${this.projectUrl(project)}/pipelines/${pipelineId}/jobs?per_page=100`, gitlabJobSchema, 'jobs', 20);
  }

  async job(project: string, jobId: number): Promise<GitLabJobInfo> {
    return this.parse(gitlabJobSchema, await (await this.get(`${this.projectUrl(project)}/jobs/${jobId}`)).json(), 'job');
  }

  /** Starts a manual job (not retried: it is not idempotent). */
  async playJob(project: string, jobId: number): Promise<GitLabJobInfo> {
    const response = await this.send('POST', `${this.projectUrl(project)}/jobs/${jobId}/play`, { retry: false });
    return this.parse(gitlabJobSchema, await response.json(), 'job');
  }

  /**
   * The avatar GitLab shows for an email address, when it is an image on this GitLab (a user's
   * upload) — not an external service's (Gravatar), which the web app couldn't load through the
   * API's GitLab-only proxy.
   */
  async avatarOf(email: string): Promise<string | undefined> {
    const response = await this.get(`${this.api}/avatar?email=${encodeURIComponent(email)}`);
    const url = this.parse(avatarSchema, await response.json(), 'avatar').avatar_url;
    return url && gitlabUrl(url, new URL(this.options.url).origin) ? url : undefined;
  }

  /**
   * `POST /projects/:id/pipeline`: a pipeline on `ref` (a branch or tag) with variables. Not retried
   * in place: a request that reached GitLab may have created it.
   */
  async createPipeline(project: string, ref: string, variables: PipelineVariable[]): Promise<GitLabPipeline> {
    const response = await this.send('POST', `${this.projectUrl(project)}/pipeline`, { retry: false, body: { ref, variables } });
    return this.parse(pipelineSchema, await response.json(), 'pipeline');
  }

  /** `POST /projects/:id/pipelines/:pipeline_id/cancel` (idempotent: cancelling a finished pipeline changes nothing). */
  async cancelPipeline(project: string, pipelineId: number): Promise<void> {
    const response = await this.send('POST', `${this.projectUrl(project)}/pipelines/${pipelineId}/cancel`, { retry: true });
    await response.body?.cancel();
  }

  /**
   * `POST /projects/:id/statuses/:sha`. False when GitLab already had the status in that state
   * (it refuses the same transition twice, e.g. on a redelivered job): nothing to change.
   */
  async setCommitStatus(project: string, sha: string, status: CommitStatus): Promise<boolean> {
    const body = { state: status.state, name: status.name, description: status.description, ...(status.targetUrl && { target_url: status.targetUrl }) };
    try {
      const response = await this.send('POST', `${this.projectUrl(project)}/statuses/${encodeURIComponent(sha)}`, { retry: true, body });
      this.parse(commitStatusSchema, await response.json(), 'commit status');
      return true;
    } catch (error) {
      if (error instanceof GitLabError && error.status === 400 && ALREADY_IN_STATE.test(error.message)) return false;
      throw error;
    }
  }

  /** The merge requests a commit belongs to (`GET /projects/:id/repository/commits/:sha/merge_requests`). */
  mergeRequestsOf(project: string, sha: string): Promise<GitLabMergeRequest[]> {
    return this.allPages(`${this.projectUrl(project)}/repository/commits/${encodeURIComponent(sha)}/merge_requests?per_page=100`, mergeRequestSchema, 'merge requests');
  }

  /** Every note of a merge request, oldest first. */
  mergeRequestNotes(project: string, iid: number): Promise<GitLabNote[]> {
    return this.allPages(`${this.projectUrl(project)}/merge_requests/${iid}/notes?sort=asc&order_by=created_at&per_page=100`, noteSchema, 'notes');
  }

  /** Not retried in place: a request that reached GitLab may have created the note, which would then show twice. */
  async createMergeRequestNote(project: string, iid: number, body: string): Promise<GitLabNote> {
    const response = await this.send('POST', `${this.projectUrl(project)}/merge_requests/${iid}/notes`, { retry: false, body: { body } });
    return this.parse(noteSchema, await response.json(), 'note');
  }

  async updateMergeRequestNote(project: string, iid: number, noteId: number, body: string): Promise<GitLabNote> {
    const response = await this.send('PUT', `${this.projectUrl(project)}/merge_requests/${iid}/notes/${noteId}`, { retry: true, body: { body } });
    return this.parse(noteSchema, await response.json(), 'note');
  }

  /** Every item of a paginated list, following `Link: rel="next"` on this GitLab's API only. */
  private async allPages<T>(first: string, item: z.ZodType<T>, what: string, maxPages = Infinity): Promise<T[]> {
    const items: T[] = [];
    let url: string | undefined = first;
    for (let page = 0; url && page < maxPages; page++) {
      const response = await this.get(url);
      items.push(...this.parse(z.array(item), await response.json(), what));
      url = nextLink(response.headers.get('link'));
      if (url && !url.startsWith(`${this.api}/`)) throw new GitLabError(`GitLab sent a pagination link outside ${this.api}`);
    }
    return items;
  }

  /** A file's content at `ref`. */
  async rawFile(project: string, path: string, ref: string): Promise<string> {
    const url = `${this.projectUrl(project)}/repository/files/${encodeURIComponent(path)}/raw?ref=${encodeURIComponent(ref)}`;
    return (await this.get(url)).text();
  }

  private projectUrl(project: string) {
    return `${this.api}/projects/${encodeURIComponent(project)}`;
  }

  private parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new GitLabError(`GitLab answered an unexpected ${what}: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  private get(url: string): Promise<Response> {
    return this.send('GET', url, { retry: true });
  }

  private async send(method: 'GET' | 'POST' | 'PUT', url: string, { retry, body }: { retry: boolean; body?: unknown }): Promise<Response> {
    const auth: Record<string, string> =
      this.options.tokenKind === 'oauth' ? { authorization: `Bearer ${this.options.token}` } : { 'PRIVATE-TOKEN': this.options.token };
    const attempts = retry ? 2 : 1;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: { ...auth, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (error) {
        if (attempt < attempts) {
          await sleep(this.options.retryDelayMs ?? 250);
          continue;
        }
        throw new RetryLater(`GitLab unreachable: ${(error as Error).message}`);
      }
      if (response.ok) return response;
      const path = new URL(url).pathname;
      if (response.status === 404) throw new GitLabNotFound(`GitLab: 404 for ${path}${await reasonSuffix(response)}`);
      if (response.status === 429 || response.status >= 500) {
        const wait = retryAfterSeconds(response.headers.get('retry-after'));
        await response.body?.cancel();
        if (attempt < attempts && (wait ?? 0) <= QUICK_RETRY_MAX_SECONDS) {
          await sleep(wait !== undefined ? wait * 1000 : (this.options.retryDelayMs ?? 250));
          continue;
        }
        throw new RetryLater(`GitLab: ${response.status} for ${path}`, wait);
      }
      const scopeHint = method !== 'GET' && (response.status === 401 || response.status === 403) ? ' (does the token have the `api` scope?)' : '';
      throw new GitLabError(`GitLab: ${response.status} for ${method} ${path}${await reasonSuffix(response)}${scopeHint}`, response.status);
    }
  }
}
