/**
 * Which URLs are the configured GitLab's. Anything we fetch on someone's behalf, or hand to the web
 * app to fetch through us, must be: same scheme, host and port as GITLAB_URL (WHATWG parsing first,
 * so `http://2130706433/` is `http://127.0.0.1/`), and no credentials in it. Other hosts — IP
 * literals, metadata endpoints, internal services — are never reached. `base` resolves a relative
 * URL (a redirect's `Location`).
 */
export function gitlabUrl(text: string, gitlabOrigin: string, base?: URL): URL | undefined {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password || url.origin !== gitlabOrigin) return undefined;
  return url;
}
