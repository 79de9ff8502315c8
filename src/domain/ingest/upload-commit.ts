/** What an upload says about its commit, as a `CommitRecord` (see domain/commits/record-commit.ts). */
import type { CommitRecord } from '../commits/record-commit';
import { isStorageLocation } from '../storage-locations';
import type { CommitEnvelope } from './envelope';

/** What an upload answers, and whether it created its commit (then the commit may need GitLab metadata). */
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
    repositoryPath: envelope.project_root || (config && typeof projectName === 'string' ? projectName : null),
    branch: envelope.commit_branch,
    authoredDatetime: authoredTimestamp(envelope.commit_authored_datetime),
    committerName: envelope.commit_committer_name,
    message: envelope.commit_message,
    parents: envelope.commit_parents,
    commitDir: storedLocation(envelope.artifacts_commit ?? envelope.commit_ci_dir),
    ...options,
  };
}
