/**
 * The path the router matches, normalised the way the original Flask routes behaved:
 * - every route answers with and without a trailing slash (the qa CLI posts to `/api/v1/output/`);
 * - `/api/v1/output/<id>/files/<path>` and `/s/<key>` take paths and keys with slashes;
 * - `/api/v1/commits/<branch>` takes branch names that contain slashes (`feature/x`), and
 *   `/api/v1/commit/<project>/<sha>/batches` project ids that do (`group/repo/sub`): they are
 *   folded into one encoded segment, which the router decodes back into the param.
 */
const BRANCH_LIST_PREFIX = '/api/v1/commits/';
const COMMIT_PREFIX = '/api/v1/commit/';
const BATCHES_SUFFIX = '/batches';
/** `/api/v1/output/<id>/files/<path>` and `/s/<key>`: paths inside an output, and object keys. */
const OUTPUT_FILE = /^(\/api\/v1\/output\/[^/]+\/files\/)(.+)$/;
const SERVED_FILE_PREFIX = '/s/';

/** Middleware asks for it several times per request. */
const computed = new WeakMap<Request, string>();

export function routingPath(request: Request): string {
  let path = computed.get(request);
  if (path === undefined) computed.set(request, (path = normalisedPath(request.url)));
  return path;
}

function normalisedPath(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  const queryStart = url.indexOf('?', start);
  let path = start === -1 ? '/' : url.slice(start, queryStart === -1 ? undefined : queryStart);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const outputFile = path.match(OUTPUT_FILE);
  if (outputFile) {
    path = outputFile[1]! + outputFile[2]!.replaceAll('/', '%2F');
  } else if (path.startsWith(SERVED_FILE_PREFIX)) {
    path = SERVED_FILE_PREFIX + path.slice(SERVED_FILE_PREFIX.length).replaceAll('/', '%2F');
  } else if (path.startsWith(BRANCH_LIST_PREFIX)) {
    path = BRANCH_LIST_PREFIX + path.slice(BRANCH_LIST_PREFIX.length).replaceAll('/', '%2F');
  } else if (path.startsWith(COMMIT_PREFIX) && path.endsWith(BATCHES_SUFFIX)) {
    const segments = path.slice(COMMIT_PREFIX.length, -BATCHES_SUFFIX.length).split('/');
    if (segments.length > 2) path = `${COMMIT_PREFIX}${segments.slice(0, -1).join('%2F')}/${segments.at(-1)}${BATCHES_SUFFIX}`;
  }
  return path;
}
