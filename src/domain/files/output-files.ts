/**
 * The files of an output in `r2` storage mode: where they are (`<project>/<commit>/<batch>/<output>/`),
 * which paths may name one, and the manifest the web app's output viewer lists them from — the
 * original's `{path: {st_size, md5?, url}}`, built from the store's listing.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { fnmatchPattern } from '../../lib/fnmatch';
import { InvalidPattern } from '../../lib/linear-regexp';
import { ApiError, invalidField, notFound } from '../../lib/problem';
import type { ObjectStore, StoredObjectInfo } from '../../lib/object-store';
import { STORAGE_MODE_SQL } from '../rows';
import { artifactKeys, artifactUrl, type StorageMode } from '../storage-locations';

/** The file the manifest is cached in (and the uploader may send), as qatools names it. */
export const MANIFEST_FILE = 'manifest.outputs.json';
/** Left out of manifests as the original did: logs carry timestamps and change on every run. */
const NOT_LISTED = new Set([MANIFEST_FILE, 'log.txt']);
const MAX_PATH_LENGTH = 1024;

export interface OutputFiles {
  outputId: number;
  projectId: string;
  isRunning: boolean;
  /** The output's prefix, with its trailing slash. */
  prefix: string;
}

/** An output of the caller's projects whose files are in R2 (404 for others, 409 when the site's disk keeps them). */
export async function outputFiles(db: Db, outputId: number, canSeeProject: (projectId: string) => boolean, defaultStorage: StorageMode): Promise<OutputFiles> {
  const [row] = await queryRows<{ projectId: string; hexsha: string; batchId: number; isRunning: boolean; storageMode: StorageMode | null }>(
    db,
    sql`SELECT c.project_id AS "projectId", c.hexsha, o.batch_id AS "batchId", o.is_running OR o.is_pending AS "isRunning",
               ${sql.raw(STORAGE_MODE_SQL)} AS "storageMode"
        FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id JOIN projects p ON p.id = c.project_id
        WHERE o.id = ${outputId}`,
  );
  if (!row || !canSeeProject(row.projectId)) throw notFound(`Sorry, there is no output ${outputId}.`);
  if ((row.storageMode ?? defaultStorage) !== 'r2') {
    throw notFound(
      `The files of project ${row.projectId} are on the site's shared disk (storage mode \`shared-disk\`): its own web server serves them ` +
        'and their manifest under the output\'s `output_dir_url`. Set `storage: {mode: r2}` in qaboard.yaml to keep them in R2 instead.',
    );
  }
  return { outputId, projectId: row.projectId, isRunning: row.isRunning, prefix: `${artifactKeys.output(row.projectId, row.hexsha, row.batchId, outputId)}/` };
}

/**
 * A file's path inside its output, as sent (`images/a.png`): relative, `/`-separated segments that
 * are not empty, `.` or `..`, without backslashes or control characters. Else a 400 naming `path`.
 */
export function checkedFilePath(path: string): string {
  const problem =
    path.length === 0 ? 'is empty'
    : path.length > MAX_PATH_LENGTH ? `is longer than ${MAX_PATH_LENGTH} characters`
    : /[\u0000-\u001f\u007f\\]/.test(path) ? 'contains a backslash or a control character'
    : path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..') ? 'must be relative, without empty, `.` or `..` segments'
    : undefined;
  if (problem) throw invalidField('path', problem);
  return path;
}

/** Whether an object's key lies inside a prefix (both as stored: no `..` can escape). */
export const keyWithin = (key: string, prefix: string) => key.startsWith(prefix) && key.length > prefix.length;

export interface ManifestEntry {
  st_size: number;
  md5?: string;
  url: string;
}
export type Manifest = Record<string, ManifestEntry>;

/** The manifest of an output's objects; `urlOf` says how each key is reached (signed for private projects). */
export async function buildManifest(objects: StoredObjectInfo[], prefix: string, urlOf: (key: string) => Promise<string>): Promise<Manifest> {
  const listed = objects.filter((o) => keyWithin(o.key, prefix) && !NOT_LISTED.has(o.key.slice(prefix.length)));
  const entries = await Promise.all(
    listed.map(async (o) => [o.key.slice(prefix.length), { st_size: o.size, ...(o.md5 && { md5: o.md5 }), url: await urlOf(o.key) }] as const),
  );
  return Object.fromEntries(entries);
}

/**
 * The manifest as the original served it: listed afresh (and cached as `manifest.outputs.json`)
 * while the output runs, on `refresh`, or when none is stored; else the stored one — the uploader's
 * or the last one listed. Stored URLs are unsigned: signatures expire, so they are made per answer.
 */
export async function outputManifest(
  store: ObjectStore,
  files: OutputFiles,
  { refresh, urlOf }: { refresh: boolean; urlOf: (key: string) => Promise<string> },
): Promise<Manifest> {
  const cacheKey = files.prefix + MANIFEST_FILE;
  if (!files.isRunning && !refresh) {
    const stored = await store.get(cacheKey);
    const cached = stored && parsedManifest(stored);
    if (cached) return withUrls(cached, files.prefix, urlOf);
  }
  const manifest = await buildManifest(await store.listObjects(files.prefix), files.prefix, async (key) => artifactUrl(key));
  await store.put(cacheKey, new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
  return withUrls(manifest, files.prefix, urlOf);
}

/** A stored manifest, or `undefined` when it isn't one (a corrupt upload is listed again, as the web app would ask). */
function parsedManifest(bytes: Uint8Array): Manifest | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.every(([, e]) => e && typeof e === 'object' && typeof (e as ManifestEntry).st_size === 'number') ? (value as Manifest) : undefined;
  } catch {
    return undefined;
  }
}

async function withUrls(manifest: Manifest, prefix: string, urlOf: (key: string) => Promise<string>): Promise<Manifest> {
  const entries = await Promise.all(
    Object.entries(manifest).map(async ([path, entry]) => [path, { ...entry, url: await urlOf(prefix + path) }] as const),
  );
  return Object.fromEntries(entries);
}

/** A filtered deletion's pattern, checked when asked for (else a 400 naming `filter`). */
export function checkedFilePattern(filter: string): string {
  try {
    fnmatchPattern(filter);
  } catch (error) {
    if (!(error instanceof InvalidPattern)) throw error;
    throw invalidField('filter', `\`${filter}\` is not a file pattern (${error.message})`);
  }
  return filter;
}

/** Never deleted by a filter: the original's filter walked the manifest, which doesn't list them. */
const KEPT_BY_FILTERS = new Set([...NOT_LISTED, 'manifest.inputs.json']);

/**
 * What a filtered deletion (`DELETE /api/v1/batch/:id?soft=true&filter=*.png`) removes from an
 * output, as the original's `Output.delete(filter=…)`: the listed files whose path inside the output
 * matches the fnmatch pattern as a whole (`*` crosses folders: `*.png` matches `img/a.png`; case
 * counts). The cached manifest goes with them, to be listed again.
 */
export function filesMatching(objects: StoredObjectInfo[], prefix: string, pattern: string): string[] {
  const matcher = fnmatchPattern(pattern);
  const matched = objects
    .filter((o) => keyWithin(o.key, prefix))
    .map((o) => o.key.slice(prefix.length))
    .filter((path) => !KEPT_BY_FILTERS.has(path) && matcher.test(path));
  return matched.length ? [...matched, MANIFEST_FILE].map((path) => prefix + path) : [];
}

/** Refuses a body the store can't take whole: unknown length (411) or over the limit (413). */
export function checkedUploadSize(contentLength: string | undefined, maxBytes: number): number {
  if (contentLength === undefined) throw new ApiError(411, 'Send the file with a Content-Length (chunked bodies are not accepted: R2 stores bodies of known length).');
  const size = Number(contentLength);
  if (!/^\d+$/.test(contentLength) || !Number.isSafeInteger(size)) throw invalidField('content-length', 'must be a number of bytes');
  if (size > maxBytes) {
    throw new ApiError(413, `The file has ${size} bytes; uploads through the API take at most ${maxBytes} (FILES_MAX_BYTES). Larger files: POST /api/v1/output/{id}/files:sign for a presigned upload URL.`);
  }
  return size;
}

/** The project an object key belongs to: the longest project id that prefixes it (ids contain slashes). */
export async function projectOfKey(db: Db, key: string): Promise<string | undefined> {
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`SELECT id FROM projects WHERE left(${key}, length(id) + 1) = id || '/' ORDER BY length(id) DESC LIMIT 1`,
  );
  return row?.id;
}

/** Stores one file of an output; the cached manifest is dropped (listed again when next asked) unless it is the file. */
export async function storeOutputFile(
  store: ObjectStore,
  files: OutputFiles,
  path: string,
  body: ReadableStream<Uint8Array>,
  options: { size: number; contentType: string; sha256?: string },
): Promise<StoredObjectInfo> {
  const stored = await store.putStream(files.prefix + path, body, options);
  if (path !== MANIFEST_FILE) await store.delete([files.prefix + MANIFEST_FILE]);
  return stored;
}
