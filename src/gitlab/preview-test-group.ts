/**
 * The tuning form's preview of a group of tests (`POST /api/v1/tests/group`): the commit's batches
 * files, read from GitLab at the commit, then the stored groups, expanded without the data disk.
 * The message (HTML: the web app renders it) says what could not be read or expanded.
 */
import { findCommit } from '../domain/commits/find-commit';
import { projectRepository } from '../domain/storage-locations';
import { BatchesFileError, escapeHtml, expandGroup, type BatchesFile, type TestRun } from '../domain/test-groups/batches-files';
import { storedGroupFiles } from '../domain/test-groups/test-groups';
import { readProjectData } from '../domain/read/projects';
import type { Db } from '../db/client';
import { RetryLater } from '../jobs/job-queue';
import { commitBatchesFiles } from './commit-batches-files';
import { GitLabError, GitLabNotFound, type GitLabClient } from './client';

type Json = Record<string, unknown>;

export interface GroupPreview {
  tests: TestRun[];
  message: string | null;
  /** Why the group could not be expanded (as the original, with a 200). */
  error?: string;
}

export interface PreviewQuery {
  projectId: string;
  name: string;
  commit?: string;
  groups: string[];
}

const NO_COMMIT_FILES = (why: string) =>
  `<p>Could not load the <code>inputs.batches</code> files defined in <em>qaboard.yaml</em> from GitLab at this commit: ${escapeHtml(why)}.</p>`;

/** The commit's batches files, and a message when some can't be read. */
async function commitFiles(gitlab: GitLabClient | undefined, db: Db, query: PreviewQuery & { commit: string }): Promise<{ files: BatchesFile[]; config: Json; message?: string }> {
  const commit = await findCommit(db, query.projectId, query.commit);
  const config = (commit.commitData.qatools_config ?? commit.projectData.qatools_config ?? {}) as Json;
  const inputs = (config.inputs ?? {}) as Json;
  if (!(inputs.groups ?? inputs.batches)) return { files: [], config };
  if (!gitlab) return { files: [], config, message: NO_COMMIT_FILES('the GitLab integration is not configured (GITLAB_URL, GITLAB_TOKEN)') };
  const { idGit, idRelative } = projectRepository({ id: commit.projectId, data: commit.projectData });
  try {
    const { files, unreadable, invalidGlobs } = await commitBatchesFiles(gitlab, { idGit, idRelative, projectId: commit.projectId }, config, commit.hexsha);
    const problems = [
      unreadable.length ? NO_COMMIT_FILES(`${unreadable.join(', ')} ${unreadable.length > 1 ? 'are' : 'is'} not in the repository`) : '',
      invalidGlobs.length ? NO_COMMIT_FILES(`${invalidGlobs.join(', ')} ${invalidGlobs.length > 1 ? 'are not valid globs' : 'is not a valid glob'}`) : '',
    ].join('');
    const missing = problems || undefined;
    return { files, config, message: files.length ? missing : (missing ?? NO_COMMIT_FILES('none of them exists at this commit')) };
  } catch (error) {
    if (!(error instanceof GitLabError || error instanceof GitLabNotFound || error instanceof RetryLater)) throw error;
    return { files: [], config, message: NO_COMMIT_FILES(error.message) };
  }
}

export async function previewTestGroup(db: Db, gitlab: GitLabClient | undefined, query: PreviewQuery): Promise<GroupPreview> {
  if (!query.name) return { tests: [], message: null };
  const fromCommit = query.commit
    ? await commitFiles(gitlab, db, { ...query, commit: query.commit })
    : { files: [], config: ((await readProjectData(db, query.projectId)).qatools_config ?? {}) as Json, message: undefined };
  const files = [...fromCommit.files, ...(await storedGroupFiles(db, query.projectId, query.groups))];
  try {
    const { tests, unexpanded } = expandGroup(query.name, files, fromCommit.config);
    const notes = unexpanded.length
      ? `<p>Inputs are listed as the batches files write them: ${unexpanded.join(', ')} are expanded by <code>qa batch</code> in CI, which sees the data disk.</p>`
      : undefined;
    const message = [fromCommit.message, notes].filter(Boolean).join('') || null;
    return { tests, message };
  } catch (error) {
    if (!(error instanceof BatchesFileError)) throw error;
    return { tests: [], message: fromCommit.message ?? null, error: error.message };
  }
}
