/**
 * Where a commit's outputs and artifacts live, and the URLs the web app and the qa CLI use to reach
 * them. These follow qatools' conventions (qaboard/conventions.py) so that existing shared-disk
 * storage keeps working: folders are served under `/s<path>` (Python's `quote`, `/` kept).
 * A location that already is a web URL (`https://…` for R2 or S3) is passed through unchanged;
 * any other scheme (`javascript:`, `data:`…) would become a link the web app renders: it is refused
 * at upload (`locationProblem`) and, stored before that, is not a location (no URL).
 */
import { md5Hex } from '../lib/md5';

type Json = Record<string, unknown>;

const DEFAULT_STORAGE_ROOT = '/mnt/qaboard';
const WEB_URL = /^https?:\/\//i;
/** A URL scheme; one letter is a Windows drive (`C:/runs`), a path from another machine rather than a URL. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]+:/i;

/** Where outputs can live: an absolute path (served under `/s`) or a web URL. */
export const isStorageLocation = (location: string) => location.startsWith('/') || WEB_URL.test(location);

/** Why an uploaded location can't be accepted (a URL of another scheme than http(s)); undefined when it can. */
export function locationProblem(location: string | null | undefined): string | undefined {
  if (!location || !URL_SCHEME.test(location) || WEB_URL.test(location)) return undefined;
  return 'must be an absolute path or an http(s) URL';
}

/** qatools' `dir_to_url`: `"/s" + urllib.parse.quote(path)`; web URLs as they are. */
export function dirToUrl(location: string | null | undefined): string {
  if (!location || !isStorageLocation(location)) return '';
  if (WEB_URL.test(location)) return location;
  return '/s' + location.replace(/[^A-Za-z0-9_.~/-]/gu, (ch) =>
    encodeURIComponent(ch).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
  );
}

/** Like pathlib's `/`: joins with single slashes and drops a trailing one. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/').replace(/\/{2,}/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/** Python's `json.dumps(value, sort_keys=True)` (default separators, ASCII only), as hashed by qatools. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'NaN';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  }
  if (Array.isArray(value)) return '[' + value.map(pythonJsonDumps).join(', ') + ']';
  const entries = Object.entries(value as Json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return '{' + entries.map(([k, v]) => `${pythonJsonDumps(k)}: ${pythonJsonDumps(v)}`).join(', ') + '}';
}

function slugify(text: string, maxLength: number | null = 32): string {
  let slug = text.toLowerCase();
  if (maxLength) slug = slug.slice(0, maxLength - 1);
  return slug
    .replace(/[^0-9a-z.=]/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The hashed slugs computed lately: a commit's read derives a folder for each of its outputs, and
 * a batch's outputs share their configurations, so the same md5 (in JS: ~5 µs) came back for each.
 * Bounded: texts up to 4 KB only, forgotten all at once when full (at most ~4 MB).
 */
const hashedSlugs = new Map<string, string>();
const HASHED_SLUGS_KEPT = 1000;
const HASHED_TEXT_KEPT = 4096;

/** qatools' `slugify_hash`: a readable, bounded folder name for any value. */
export function slugifyHash(value: unknown, maxLength = 32): string {
  const text = typeof value === 'string' ? value : pythonJsonDumps(value);
  if (text.length < maxLength) return slugify(text);
  const key = `${typeof value === 'string' ? 's' : 'j'}${maxLength}:${text}`;
  let slug = hashedSlugs.get(key);
  if (slug === undefined) {
    const hash = md5Hex(typeof value === 'string' ? pythonJsonDumps(value) : text).slice(0, 8);
    slug = `${hash}-${slugify(text.slice(-(maxLength - 8)), null)}`;
    if (text.length > HASHED_TEXT_KEPT) return slug;
    if (hashedSlugs.size >= HASHED_SLUGS_KEPT) hashedSlugs.clear();
    hashedSlugs.set(key, slug);
  }
  return slug;
}

/** qatools' `storage_roots`: `storage` is a path, `{linux: path}`, or `{outputs: …, artifacts: …}`. */
function storageRoots(config: Json, projectId: string, subproject: string) {
  const storage = config.storage ?? config.ci_root;
  const pick = (spec: unknown): string | undefined => {
    const location = typeof spec === 'string' ? spec : (spec as Json | undefined)?.linux;
    return typeof location === 'string'
      ? location.replaceAll('{project}', projectId).replaceAll('{subproject}', subproject)
      : undefined;
  };
  const spec = (key: 'outputs' | 'artifacts') =>
    storage && typeof storage === 'object' && key in storage ? (storage as Json)[key] : storage;
  return {
    outputs: pick(spec('outputs')) ?? DEFAULT_STORAGE_ROOT,
    artifacts: pick(spec('artifacts')) ?? DEFAULT_STORAGE_ROOT,
  };
}

export interface ProjectIdentity {
  id: string;
  data: Json;
}

/** The repository a (sub-)project lives in, and the sub-project's folder inside it. */
export function projectRepository(project: ProjectIdentity): { idGit: string; idRelative: string } {
  const fromGit = (project.data.git as Json | undefined)?.path_with_namespace;
  const idGit = typeof fromGit === 'string' && fromGit ? fromGit : (project.id.match(/^[^/]+\/[^/]+/)?.[0] ?? project.id);
  const idRelative = project.id === idGit ? '' : project.id.slice(idGit.length + 1);
  return { idGit, idRelative };
}

export interface CommitLocations {
  outputsDir: string;
  artifactsDir: string;
  repoArtifactsDir: string;
}

export function commitLocations(
  project: ProjectIdentity,
  commit: { hexsha: string; data: Json; commitDirOverride: string | null },
): CommitLocations {
  const { idGit, idRelative } = projectRepository(project);
  const projectConfig = (project.data.qatools_config ?? {}) as Json;
  const config = projectConfig.storage ? projectConfig : ((commit.data.qatools_config ?? {}) as Json);
  const roots = storageRoots(config, project.id, idRelative);
  const commitDirs = `${commit.hexsha.slice(0, 2)}/${commit.hexsha.slice(2, 16)}`;
  const outputsDir = joinPath(roots.outputs, idGit, commitDirs, idRelative);
  const override = commit.commitDirOverride;
  const repoArtifactsDir = override
    ? joinPath(idRelative && override.endsWith(idRelative) ? override.slice(0, -idRelative.length) : override)
    : joinPath(roots.artifacts, idGit, commitDirs);
  return { outputsDir, repoArtifactsDir, artifactsDir: joinPath(repoArtifactsDir, idRelative) };
}

export function batchDir(outputsDir: string, batch: { label: string; batchDirOverride: string | null }): string {
  if (batch.batchDirOverride) return batch.batchDirOverride;
  return batch.label === 'default'
    ? joinPath(outputsDir, 'output')
    : joinPath(outputsDir, 'output', slugifyHash(batch.label));
}

/** Where an output lives when the client did not say (qatools' `Output.output_folder`). */
export function defaultOutputDir(
  batchDirectory: string,
  output: { platform: string; configurations: unknown[]; extraParameters: unknown; testInputPath: string },
): string {
  const fullConfigurations = [
    ...(output.platform !== 'linux' ? [output.platform] : []),
    ...output.configurations,
    output.extraParameters,
  ];
  let inputFolder = output.testInputPath.replace(/(?<=[^/])\.[^./]*$/, '');
  if (inputFolder.length > 70) inputFolder = slugifyHash(inputFolder, 70);
  return joinPath(batchDirectory, slugifyHash(fullConfigurations, 16), inputFolder);
}

/**
 * Where a project keeps its output files: `shared-disk` (folders above, served by the site's own
 * web server) or `r2` (objects of the `ARTIFACTS` bucket, served by this API under `/s/<key>`).
 * qaboard.yaml's `storage.mode` decides (the project's config, else the commit's), else the server's default.
 */
export type StorageMode = 'shared-disk' | 'r2';
export const STORAGE_MODES: readonly StorageMode[] = ['shared-disk', 'r2'];

export function configuredStorageMode(...configs: (Json | null | undefined)[]): StorageMode | undefined {
  for (const data of configs) {
    const storage = ((data?.qatools_config ?? {}) as Json).storage;
    const mode = storage && typeof storage === 'object' ? (storage as Json).mode : undefined;
    if (typeof mode === 'string' && (STORAGE_MODES as string[]).includes(mode)) return mode as StorageMode;
  }
  return undefined;
}

/**
 * R2 keys: `<project>/<commit>/<batch id>/<output id>/<path>`. Ids, not labels or folders: a renamed
 * batch keeps its files, and a project's keys start with `<project>/` whatever its storage roots.
 */
export const artifactKeys = {
  commit: (projectId: string, hexsha: string) => `${projectId}/${hexsha}`,
  commitArtifacts: (projectId: string, hexsha: string) => `${projectId}/${hexsha}/artifacts`,
  batch: (projectId: string, hexsha: string, batchId: number) => `${projectId}/${hexsha}/${batchId}`,
  output: (projectId: string, hexsha: string, batchId: number, outputId: number) => `${projectId}/${hexsha}/${batchId}/${outputId}`,
};

/** The `/s/` URL this API serves an R2 key (or prefix) at. */
export const artifactUrl = (key: string) => dirToUrl(`/${key}`);
