import { callerOf } from '../../auth/authenticate';
import { fileUrlMaker, verifyFileUrlSignature } from '../../auth/file-urls';
import { canSeeProject, reachesEveryProject } from '../../auth/principal';
import { checkedFilePath, checkedUploadSize, outputFiles, outputManifest, projectOfKey, storeOutputFile } from '../../domain/files/output-files';
import { artifactUrl } from '../../domain/storage-locations';
import { etagMatches, requestedRange } from '../../lib/byte-ranges';
import { contentTypeOf, DEFAULT_CONTENT_TYPE } from '../../lib/content-types';
import { ChecksumMismatch } from '../../lib/object-store';
import { ApiError, invalidField, notFound, serviceUnavailable } from '../../lib/problem';
import { presignPut } from '../../lib/s3-presign';
import type { AppContext, AppRouteHandler } from '../../lib/types';
import { visibleProjects } from '../visibility';
import type { GetOutputManifest, ServeFile, SignOutputFileUploads, UploadOutputFile } from './files.routes';

/** Served files may be HTML or SVG written by anyone who uploads: they run sandboxed, never as this origin. */
const SANDBOX = 'sandbox allow-scripts allow-popups allow-forms';

const filesOf = (c: AppContext, outputId: number) => outputFiles(c.var.db, outputId, visibleProjects(c), c.var.config.files.defaultMode);

export const uploadOutputFile: AppRouteHandler<UploadOutputFile> = async (c) => {
  const { id, path } = c.req.valid('param');
  const files = await filesOf(c, id);
  const filePath = checkedFilePath(path);
  const size = checkedUploadSize(c.req.header('content-length'), c.var.config.files.maxBytes);
  const sent = c.req.header('content-type');
  const contentType = sent && sent !== DEFAULT_CONTENT_TYPE ? sent : contentTypeOf(filePath);
  const sha256 = c.req.valid('header')['x-content-sha256']?.toLowerCase();
  try {
    const stored = await storeOutputFile(c.var.artifacts, files, filePath, c.req.raw.body ?? new Blob([]).stream(), { size, contentType, sha256 });
    return c.json({ path: filePath, size: stored.size, etag: stored.etag, url: artifactUrl(stored.key) }, 201);
  } catch (error) {
    if (error instanceof ChecksumMismatch) throw invalidField('x-content-sha256', 'does not match the body: nothing was stored');
    throw error;
  }
};

export const signOutputFileUploads: AppRouteHandler<SignOutputFileUploads> = async (c) => {
  const files = await filesOf(c, c.req.valid('param').id);
  const bucket = c.var.config.files.presign;
  if (!bucket) {
    throw serviceUnavailable(
      'Presigned uploads need R2 API credentials (R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_ARTIFACTS_BUCKET); ' +
        `upload through PUT /api/v1/output/{id}/files/<path> instead (at most ${c.var.config.files.maxBytes} bytes a file).`,
    );
  }
  const now = new Date();
  const uploads = await Promise.all(
    c.req.valid('json').files.map(async (file, i) => {
      let path: string;
      try {
        path = checkedFilePath(file.path);
      } catch {
        throw invalidField(`files.${i}.path`, 'must be relative, without empty, `.` or `..` segments, backslashes or control characters');
      }
      const contentType = file.content_type ?? contentTypeOf(path);
      const signed = await presignPut(bucket, files.prefix + path, { contentType, sha256: file.sha256?.toLowerCase(), now });
      return { path, method: 'PUT' as const, url: signed.url, headers: signed.headers, expires_at: signed.expiresAt };
    }),
  );
  return c.json({ uploads }, 200);
};

export const getOutputManifest: AppRouteHandler<GetOutputManifest> = async (c) => {
  const files = await filesOf(c, c.req.valid('param').id);
  const urlOf = fileUrlMaker(c.var.config, files.projectId, new Date(), artifactUrl);
  const manifest = await outputManifest(c.var.artifacts, files, { refresh: c.req.valid('query').refresh, urlOf });
  c.header('cache-control', 'no-store');
  return c.json(manifest, 200);
};

/** Whether the request may read `key`: a valid signature, or a caller that reads its project. */
async function checkFileAccess(c: AppContext, key: string, expires: string | undefined, signature: string | undefined): Promise<'public' | 'private'> {
  if (expires !== undefined || signature !== undefined) {
    await verifyFileUrlSignature(c.var.config.files.urlSecret, key, expires ?? '', signature ?? '', new Date());
    return 'private';
  }
  const caller = await callerOf(c, 'read');
  if (reachesEveryProject(caller)) return caller.id === 'anonymous' ? 'public' : 'private';
  const projectId = await projectOfKey(c.var.db, key);
  if (!projectId || !canSeeProject(caller, projectId)) throw notFound(`Sorry, there is no file ${key}.`);
  return 'private';
}

export const serveFile: AppRouteHandler<ServeFile> = async (c) => {
  // Raw accessors: the contract's binary responses leave `valid()` untyped here; both are plain strings.
  const key = c.req.param('key') ?? '';
  const [expires, signature] = [c.req.query('expires'), c.req.query('signature')];
  checkedFilePath(key);
  const visibility = await checkFileAccess(c, key, expires, signature);
  const store = c.var.artifacts;
  const rangeHeader = c.req.header('range');
  const ifNoneMatch = c.req.header('if-none-match');
  // A plain GET reads once; validators and ranges need the size and ETag first.
  const info = rangeHeader || ifNoneMatch ? await store.head(key) : undefined;
  const range = info && requestedRange(rangeHeader, info.size);
  const headers = new Headers({
    'cache-control': `${visibility}, max-age=300`,
    'content-security-policy': SANDBOX,
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
  });
  if (info) headers.set('etag', info.etag);
  if (info && etagMatches(ifNoneMatch, info.etag)) return c.body(null, { status: 304, headers }) as never;
  if (range === 'unsatisfiable') throw new ApiError(416, `The file has ${info!.size} bytes.`, { headers: { 'content-range': `bytes */${info!.size}` } });
  const object = (rangeHeader || ifNoneMatch) && !info ? undefined : await store.read(key, range);
  if (!object) throw notFound(`Sorry, there is no file ${key}.`);
  headers.set('etag', object.info.etag);
  headers.set('content-type', object.info.contentType ?? contentTypeOf(key));
  headers.set('last-modified', object.info.uploaded.toUTCString());
  if (range) {
    headers.set('content-range', `bytes ${range.offset}-${range.offset + range.length - 1}/${object.info.size}`);
    headers.set('content-length', String(range.length));
    return c.body(object.body, { status: 206, headers }) as never;
  }
  headers.set('content-length', String(object.info.size));
  return c.body(object.body, { status: 200, headers }) as never;
};
