/** What an upload says about its commit, as a `CommitRecord` (see domain/commits/record-commit.ts). */
import type { CommitRecord } from '../commits/record-commit';
import { isStorageLocation } from '../storage-locations';
import type { CommitEnvelope } from './envelope';

/** What an upload answers, and whether it created its commit (then the commit may need GitLab metadata; of uploads written together, one says so). */
export interface Ingested<T> {
  body: T;
  commitCreated: boolean;
  /** A batch the upload may have completed: once the write is committed, tell `completeBatches` (domain/batches/batch-completion.ts). */
  completionCheck?: number;
}

/** Python's `isoformat()` of a naive datetime has no offset: the CLI means UTC. */
function authoredTimestamp(value: string | null | undefined): string | null {
  if (!value) return null;
  return /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(value) ? value : `${value}Z`;
}

/** A location is kept when it is absolute or a web URL (object storage); relative folders mean nothing here. */
export function storedLocation(value: string | null | undefined): string | null {
  return value && isStorageLocation(value) ? value : null;
}

/**
 * The repository an upload names — `project_root`, else its config's `project.name` — when it is
 * the project itself or a parent folder of it, as qatools makes them (project = project_root /
 * subproject). Any other path is ignored: it would point the project at a repository its uploader
 * may not read, whose files and commits the server would then fetch with its own GitLab token.
 */
function repositoryPathOf(projectId: string, candidates: unknown[]): string | null {
  const isProjectOrParent = (path: unknown): path is string => typeof path === 'string' && path !== '' && (projectId === path || projectId.startsWith(`${path}/`));
  return candidates.find(isProjectOrParent) ?? null;
}

export function uploadCommitRecord(
  envelope: CommitEnvelope,
  hexsha: string,
  options: Pick<CommitRecord, 'touchLatestOutput' | 'commitDataPatch' | 'undelete'>,
): CommitRecord {
  const config = envelope.qaboard_config ?? null;
  const projectName = (config?.project as Record<string, unknown> | undefined)?.name;
  return {
    projectId: envelope.project,
    hexsha,
    source: 'upload',
    config,
    metrics: envelope.qaboard_metrics,
    repositoryPath: repositoryPathOf(envelope.project, [envelope.project_root, projectName]),
    branch: envelope.commit_branch,
    authoredDatetime: authoredTimestamp(envelope.commit_authored_datetime),
    committerName: envelope.commit_committer_name,
    message: envelope.commit_message,
    parents: envelope.commit_parents,
    commitDir: storedLocation(envelope.artifacts_commit ?? envelope.commit_ci_dir),
    ...options,
  };
}
