/**
 * `/api/v1/gitlab/proxy`: the web app shows GitLab avatars and badges through the API, as the
 * original did. It is a fetch on a caller's behalf, so it is fenced in:
 * - only URLs on the configured GitLab (see gitlab-urls.ts), redirects included (followed by hand,
 *   each hop checked, at most 3);
 * - no credentials sent: not the server's GitLab token, not the user's — what is proxied is what
 *   GitLab shows anyone who can reach it;
 * - only the image types browsers show, at most GITLAB_PROXY_MAX_BYTES, within GITLAB_TIMEOUT_MS
 *   in all. A body of declared length streams through (never held whole); one of unknown length is
 *   read up to the limit first, so that past it the answer is still a 502 problem;
 * - served so that an SVG opened directly can't run script in our origin (CSP sandbox, nosniff).
 */
import type { AppConfig } from '../config';
import { bodyUpTo } from '../lib/bounded-body';
import { ApiError, invalidField, notFound, serviceUnavailable } from '../lib/problem';
import { gitlabUrl } from './gitlab-urls';

const MAX_REDIRECTS = 3;
/** What avatars and badges are; other `image/*` types are nothing a browser shows, only something it may mishandle. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/svg+xml', 'image/x-icon', 'image/vnd.microsoft.icon']);

export interface ProxiedImage {
  body: Uint8Array | ReadableStream<Uint8Array>;
  headers: Record<string, string>;
}

/** Passes at most `maxBytes` through, then fails the stream (a server sending more than it declared). */
function capped(body: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  let size = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > maxBytes) controller.error(new Error(`the image exceeds its declared ${maxBytes} bytes`));
        else controller.enqueue(chunk);
      },
    }),
  );
}

/** The body within `maxBytes`: streamed when its length is declared, else read whole first; undefined past the limit. */
async function boundedImageBody(response: Response, maxBytes: number): Promise<ProxiedImage['body'] | undefined> {
  const declared = response.headers.get('content-length');
  const length = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (length === undefined || !response.body) return bodyUpTo(response, maxBytes);
  if (length > maxBytes) {
    await response.body.cancel();
    return undefined;
  }
  return capped(response.body, length);
}

async function fetchOnGitLab(start: URL, origin: string, signal: AbortSignal): Promise<Response> {
  let url = start;
  for (let hop = 0; ; hop++) {
    const response = await fetch(url, { redirect: 'manual', signal, headers: { accept: 'image/*' } });
    if (response.status < 300 || response.status >= 400) return response;
    await response.body?.cancel();
    const location = response.headers.get('location');
    const next = location ? gitlabUrl(location, origin, url) : undefined;
    if (!next) throw new ApiError(502, 'GitLab redirected the image off the GitLab host: not followed.');
    if (hop === MAX_REDIRECTS) throw new ApiError(502, `GitLab redirected the image more than ${MAX_REDIRECTS} times.`);
    url = next;
  }
}

export async function proxyGitLabImage(config: AppConfig['gitlabProxy'], target: string): Promise<ProxiedImage> {
  if (!config) throw serviceUnavailable('The GitLab integration is not configured on this server (GITLAB_URL).');
  const url = gitlabUrl(target, config.origin);
  if (!url) throw invalidField('url', `only URLs on ${config.origin} are proxied`);
  const signal = AbortSignal.timeout(config.timeoutMs);
  try {
    const response = await fetchOnGitLab(url, config.origin, signal);
    const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
    if (response.status !== 200 || !IMAGE_TYPES.has(type)) {
      await response.body?.cancel();
      if (response.status === 404) throw notFound('GitLab has no such image.');
      throw new ApiError(502, response.status !== 200 ? `GitLab answered ${response.status}.` : `GitLab answered ${type || 'no content type'}, not an image type browsers show.`);
    }
    const body = await boundedImageBody(response, config.maxBytes);
    if (!body) throw new ApiError(502, `The image exceeds ${config.maxBytes} bytes.`);
    const passed = Object.fromEntries(['etag', 'last-modified'].flatMap((name) => (response.headers.has(name) ? [[name, response.headers.get(name)!]] : [])));
    return {
      body,
      headers: {
        ...passed,
        'content-type': type,
        'cache-control': 'private, max-age=86400',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      },
    };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (signal.aborted) throw new ApiError(504, `GitLab did not send the image within ${config.timeoutMs} ms.`);
    throw new ApiError(502, `GitLab could not be reached (${(error as Error).message}).`);
  }
}
