/**
 * The batches files a commit's qaboard.yaml names — `inputs.groups` (or the older `inputs.batches`):
 * a path or a list, `{project}` and `{subproject}` replaced, `{linux: path}` for per-OS paths,
 * relative to the repository root, wildcards allowed — read from GitLab at that commit (the
 * original read them from the commit's artifacts, saved by `qa save-artifacts`). Files missing at
 * the commit are skipped, as the original did; absolute paths and environment variables point at
 * a machine's disk, which GitLab doesn't have: they are reported as unreadable.
 */
import type { BatchesFile } from '../domain/test-groups/batches-files';
import { GitLabNotFound, type GitLabClient } from './client';

type Json = Record<string, unknown>;

export interface CommitBatchesFiles {
  files: BatchesFile[];
  /** Paths named by the config that can't be read from the repository. */
  unreadable: string[];
}

/** The `inputs.groups`/`inputs.batches` paths of a config, formatted for the (sub-)project. */
function configuredPaths(config: Json, projectId: string, subproject: string): string[] {
  const inputs = (config.inputs ?? {}) as Json;
  const spec = inputs.groups ?? inputs.batches;
  const specs = spec === undefined || spec === null ? [] : Array.isArray(spec) ? spec : [spec];
  return specs
    .map((entry) => (typeof entry === 'object' && entry !== null ? (entry as Json).linux : entry))
    .filter((path): path is string => typeof path === 'string' && path !== '')
    .map((path) => path.replaceAll('{project}', projectId).replaceAll('{subproject}', subproject));
}

/** Python's glob (non-recursive): `*` and `?` stay within a folder, `[…]` is a character class. */
function globPattern(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]');
  return new RegExp(`^${source}$`);
}

export async function commitBatchesFiles(
  gitlab: GitLabClient,
  repository: { idGit: string; idRelative: string; projectId: string },
  config: Json,
  hexsha: string,
): Promise<CommitBatchesFiles> {
  const paths = configuredPaths(config, repository.projectId, repository.idRelative);
  const unreadable = paths.filter((path) => path.startsWith('/') || path.includes('$'));
  const relative = paths.filter((path) => !unreadable.includes(path)).map((path) => path.replace(/^\.\//, ''));
  let resolved = relative;
  if (relative.some((path) => /[*?[]/.test(path))) {
    const blobs = (await gitlab.tree(repository.idGit, hexsha)).filter((entry) => entry.type === 'blob').map((entry) => entry.path);
    resolved = relative.flatMap((path) => (/[*?[]/.test(path) ? blobs.filter((blob) => globPattern(path).test(blob)).sort() : [path]));
  }
  const files: BatchesFile[] = [];
  for (const path of resolved) {
    try {
      files.push({ name: path, text: await gitlab.rawFile(repository.idGit, path, hexsha) });
    } catch (error) {
      if (!(error instanceof GitLabNotFound)) throw error;
    }
  }
  return { files, unreadable };
}
