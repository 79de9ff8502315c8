/**
 * A small GitLab REST API client (fetch-based: no dependency, a few KB in the Worker bundle).
 * GitLab's answers are untrusted input: every response is validated with zod, and pagination
 * links are followed only on the configured GitLab.
 *
 * Failures are classified for the queue: 404 → `GitLabNotFound` (permanent: log and move on);
 * 429, 5xx, timeouts and network errors → a quick retry in place, then `RetryLater` (honouring
 * `Retry-After`) so the queue retries with backoff; anything else → `GitLabError` (permanent).
 */
import { z } from 'zod';
import { RetryLater } from '../jobs/job-queue';

export class GitLabNotFound extends Error {}
export class GitLabError extends Error {}

export interface GitLabClientOptions {
  /** e.g. https://gitlab.com (without /api/v4) */
  url: string;
  /** A token with the `read_api` scope. */
  token: string;
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
  authored_date: z.string(),
  parent_ids: z.array(z.string()),
});
export type GitLabCommit = z.infer<typeof commitSchema>;

const refsSchema = z.array(z.object({ type: z.string(), name: z.string() }));

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
  async tree(project: string, ref: string): Promise<TreeEntry[]> {
    const entries: TreeEntry[] = [];
    let url: string | undefined =
      `${this.projectUrl(project)}/repository/tree?ref=${encodeURIComponent(ref)}&recursive=true&per_page=100&pagination=keyset`;
    while (url) {
      const response = await this.get(url);
      entries.push(...this.parse(z.array(treeEntry), await response.json(), 'tree'));
      url = nextLink(response.headers.get('link'));
      if (url && !url.startsWith(`${this.api}/`)) throw new GitLabError(`GitLab sent a pagination link outside ${this.api}`);
    }
    return entries;
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

  private async get(url: string): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { 'PRIVATE-TOKEN': this.options.token, accept: 'application/json' },
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (error) {
        if (attempt < 2) {
          await sleep(this.options.retryDelayMs ?? 250);
          continue;
        }
        throw new RetryLater(`GitLab unreachable: ${(error as Error).message}`);
      }
      if (response.ok) return response;
      const path = new URL(url).pathname;
      if (response.status === 404) throw new GitLabNotFound(`GitLab: 404 for ${path}`);
      if (response.status === 429 || response.status >= 500) {
        const wait = retryAfterSeconds(response.headers.get('retry-after'));
        await response.body?.cancel();
        if (attempt < 2 && (wait ?? 0) <= QUICK_RETRY_MAX_SECONDS) {
          await sleep(wait !== undefined ? wait * 1000 : (this.options.retryDelayMs ?? 250));
          continue;
        }
        throw new RetryLater(`GitLab: ${response.status} for ${path}`, wait);
      }
      throw new GitLabError(`GitLab: ${response.status} for ${path}`);
    }
  }
}
