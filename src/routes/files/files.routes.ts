import { createRoute, z } from '@hono/zod-openapi';
import { booleanQuery, errorResponses, idParam, jsonBody, jsonContent, problemResponseSpec, tooLargeResponse } from '../schemas';

const tags = ['Output files'];
const filePath = z.string().openapi({ description: "The file's path inside the output; may contain slashes.", example: 'images/result.png' });

const storedFileSchema = z
  .object({
    path: z.string(),
    size: z.number().int(),
    etag: z.string(),
    url: z.string().openapi({ description: 'Where the file is served (`/s/<key>`).' }),
  })
  .openapi('StoredFile', { example: { path: 'images/result.png', size: 1024, etag: '"9e107d9d372bb6826bd81d3542a419d6"', url: '/s/group/repo/48b24841/77/1203/images/result.png' } });

export const uploadOutputFile = createRoute({
  method: 'put',
  path: '/api/v1/output/{id}/files/{path}',
  operationId: 'uploadOutputFile',
  tags,
  summary: 'Upload one file of an output (r2 storage mode)',
  description:
    'Streams the body into R2 under the output\'s prefix (`<project>/<commit>/<batch>/<output>/<path>`), replacing a file of the same path. ' +
    'Needs `write` on the output\'s project and a `Content-Length` (at most `FILES_MAX_BYTES`; larger files: `files:sign`). ' +
    'The `Content-Type` sent is stored (else derived from the name). With `X-Content-Sha256` (hex) the bytes are checked and a mismatch stores nothing.',
  request: {
    params: z.object({ id: idParam, path: filePath }),
    headers: z.object({
      'x-content-sha256': z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a hex SHA-256').optional().openapi({ description: 'The SHA-256 the body must have (hex).' }),
    }),
    body: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
  },
  responses: {
    201: jsonContent(storedFileSchema, 'Stored.'),
    ...errorResponses,
    404: problemResponseSpec('Unknown output, or its project keeps its files on the shared disk.'),
    411: problemResponseSpec('No Content-Length.'),
    ...tooLargeResponse,
  },
});

const manifestSchema = z
  .record(z.string(), z.object({ st_size: z.number().int(), md5: z.string().optional(), url: z.string() }))
  .openapi('OutputManifest', {
    example: { 'images/result.png': { st_size: 1024, md5: '9e107d9d372bb6826bd81d3542a419d6', url: '/s/group/repo/48b24841/77/1203/images/result.png' } },
  });

export const getOutputManifest = createRoute({
  method: 'get',
  path: '/api/v1/output/{id}/manifest',
  operationId: 'getOutputManifest',
  tags,
  summary: "The output's files, as the web app's viewer lists them",
  description:
    'The original\'s shape: `{path: {st_size, md5?, url}}` (`log.txt` left out). Listed from R2 while the output runs, with `refresh=true`, ' +
    "or when none is stored (then cached as `manifest.outputs.json`); else the stored one (the uploader's, or the last listed). " +
    'URLs of projects anonymous callers may not read are signed (`?expires&signature`, valid FILES_URL_TTL_SECONDS) so that `<img src>` works.',
  request: { params: z.object({ id: idParam }), query: z.object({ refresh: booleanQuery.openapi({ type: 'string', enum: ['true', 'false'] }) }) },
  responses: {
    200: jsonContent(manifestSchema, 'The manifest.'),
    ...errorResponses,
    404: problemResponseSpec("Unknown output, or its project keeps its files on the shared disk (the site's web server serves them)."),
  },
});

export const serveFile = createRoute({
  method: 'get',
  path: '/s/{key}',
  operationId: 'serveFile',
  tags,
  summary: 'A file of an output (r2 storage mode)',
  description:
    'The URLs in `output_dir_url`, `batch_dir_url`, `artifacts_url` and manifests. Single `Range` requests (206, 416), `ETag` and `If-None-Match` (304), ' +
    'content types, `Cache-Control`. Files of projects anonymous callers may not read need a credential that reads the project ' +
    '(token, session cookie) or a signed URL (`expires`, `signature` from the manifest). Served sandboxed (CSP `sandbox`).',
  security: [{ bearerToken: [] }, { basicToken: [] }, { sessionCookie: [] }, {}],
  request: {
    params: z.object({ key: z.string().openapi({ description: 'The object key; may contain slashes.', example: 'group/repo/48b24841/77/1203/images/result.png' }) }),
    query: z.object({
      expires: z.string().optional().openapi({ description: 'Signed URLs: expiry, seconds since the epoch.' }),
      signature: z.string().optional().openapi({ description: 'Signed URLs: base64url HMAC-SHA-256.' }),
    }),
  },
  responses: {
    200: { description: 'The file.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
    206: { description: 'The range asked for.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
    304: { description: 'Not modified (If-None-Match).' },
    ...errorResponses,
    403: problemResponseSpec('A signed URL that is expired, tampered with, or not signed by this server.'),
    404: problemResponseSpec('No such file (or one of a project the caller may not read).'),
    416: problemResponseSpec('The range lies outside the file.'),
  },
});

const signRequestSchema = z
  .object({
    files: z
      .array(
        z.object({
          path: z.string().min(1).max(1024),
          content_type: z.string().max(255).optional(),
          sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a hex SHA-256').optional(),
        }),
      )
      .min(1)
      .max(1000),
  })
  .openapi('FileUploadsToSign', { example: { files: [{ path: 'video/run.mp4', content_type: 'video/mp4' }] } });

const signedUploadsSchema = z
  .object({
    uploads: z.array(
      z.object({
        path: z.string(),
        method: z.literal('PUT'),
        url: z.string(),
        headers: z.record(z.string(), z.string()).openapi({ description: 'Send them as they are: they are signed.' }),
        expires_at: z.string(),
      }),
    ),
  })
  .openapi('SignedFileUploads', {
    example: {
      uploads: [
        {
          path: 'video/run.mp4',
          method: 'PUT',
          url: 'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com/qaboard-artifacts/group/repo/48b24841/77/1203/video/run.mp4?X-Amz-Expires=900&X-Amz-Algorithm=AWS4-HMAC-SHA256&…',
          headers: { 'content-type': 'video/mp4' },
          expires_at: '2026-11-29T12:15:00.000Z',
        },
      ],
    },
  });

export const signOutputFileUploads = createRoute({
  method: 'post',
  path: '/api/v1/output/{id}/files:sign',
  operationId: 'signOutputFileUploads',
  tags,
  summary: 'Presigned R2 upload URLs for large files',
  description:
    "S3-API PUT URLs straight into the ARTIFACTS bucket (the bytes don't pass through the API), valid R2_PRESIGN_TTL_SECONDS. " +
    'A `sha256` is checked by R2 (`x-amz-checksum-sha256`). Ask for the manifest with `refresh=true` once the files are up. ' +
    'Needs `write` on the output\'s project and the R2 API credentials in the configuration.',
  request: { params: z.object({ id: idParam }), body: jsonBody(signRequestSchema) },
  responses: {
    200: jsonContent(signedUploadsSchema, 'One upload per file, in order.'),
    ...errorResponses,
    404: problemResponseSpec('Unknown output, or its project keeps its files on the shared disk.'),
    503: problemResponseSpec('R2 API credentials are not configured (R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY).'),
  },
});

export type SignOutputFileUploads = typeof signOutputFileUploads;
export type UploadOutputFile = typeof uploadOutputFile;
export type GetOutputManifest = typeof getOutputManifest;
export type ServeFile = typeof serveFile;

/** Routes that check their own credentials (signed URLs), and bodies that are files, not JSON. */
export const fileServingRoutes = [serveFile, { method: 'head' as const, path: serveFile.path }];
export const fileUploadRoutes = [uploadOutputFile];
