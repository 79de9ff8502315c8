/**
 * Commit metadata for commits created by uploads that carried none (old clients, scripts):
 * message, author, date, parents and branch, from GitLab.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { projects } from '../db/schema';
import { recordCommit } from '../domain/commits/record-commit';
import type { CommitEnvelope } from '../domain/ingest/envelope';
import { projectReferenceBranch } from '../domain/projects/reference-branch';
import { projectRepository } from '../domain/storage-locations';
import { authorAvatar } from './author-avatar';
import type { GitLabClient } from './client';

/** Fill the metadata of a commit created by an upload that carried none. */
export interface BackfillJob {
  type: 'backfill-commit';
  projectId: string;
  hexsha: string;
}

/** An upload that created its commit without saying what the commit is. */
export const needsBackfill = (envelope: CommitEnvelope) =>
  !envelope.commit_message || !envelope.commit_committer_name || !envelope.commit_authored_datetime;

export async function backfillCommit(db: Db, gitlab: GitLabClient, job: BackfillJob): Promise<void> {
  const [project] = await db.select({ data: projects.data }).from(projects).where(eq(projects.id, job.projectId));
  if (!project) return;
  const { idGit } = projectRepository({ id: job.projectId, data: project.data });
  const [commit, branches] = await Promise.all([gitlab.commit(idGit, job.hexsha), gitlab.branchesOf(idGit, job.hexsha)]);
  const avatar = await authorAvatar(gitlab, commit);
  const reference = projectReferenceBranch(project.data);
  // GitLab's authored date replaces the upload's, which was the time of the run (see the qa CLI).
  await recordCommit(db, {
    projectId: job.projectId,
    hexsha: job.hexsha,
    source: 'gitlab',
    branch: branches.includes(reference) ? reference : (branches[0] ?? null),
    authoredDatetime: commit.authored_date,
    committerName: commit.author_name,
    committerAvatarUrl: avatar,
    message: commit.message,
    parents: commit.parent_ids,
  });
}
