/**
 * Commit metadata for commits created by uploads that carried none (old clients, scripts):
 * message, author, date, parents and branch, from GitLab.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { ciCommits, projects } from '../db/schema';
import { projectRepository } from '../domain/storage-locations';
import type { CommitEnvelope } from '../domain/ingest/envelope';
import type { GitLabClient } from './client';
import type { BackfillJob } from './jobs';
import { referenceBranchOf } from './qaboard-configs';

/** An upload that created its commit without saying what the commit is. */
export const needsBackfill = (envelope: CommitEnvelope) =>
  !envelope.commit_message || !envelope.commit_committer_name || !envelope.commit_authored_datetime;

export async function backfillCommit(db: Db, gitlab: GitLabClient, job: BackfillJob): Promise<void> {
  const [project] = await db.select({ data: projects.data }).from(projects).where(eq(projects.id, job.projectId));
  if (!project) return;
  const { idGit } = projectRepository({ id: job.projectId, data: project.data });
  const [commit, branches] = await Promise.all([gitlab.commit(idGit, job.hexsha), gitlab.branchesOf(idGit, job.hexsha)]);
  const reference = referenceBranchOf((project.data.qatools_config ?? {}) as Record<string, unknown>);
  const branch = branches.includes(reference) ? reference : (branches[0] ?? null);
  // GitLab's authored date replaces the upload's, which was the time of the run (see the qa CLI).
  await db
    .update(ciCommits)
    .set({
      authoredDatetime: commit.authored_date,
      message: sql`COALESCE(${ciCommits.message}, ${commit.message})`,
      committerName: sql`COALESCE(${ciCommits.committerName}, ${commit.author_name})`,
      parents: sql`COALESCE(${ciCommits.parents}, ${JSON.stringify(commit.parent_ids)}::jsonb)`,
      branch: sql`COALESCE(${ciCommits.branch}, ${branch})`,
    })
    .where(and(eq(ciCommits.projectId, job.projectId), eq(ciCommits.hexsha, job.hexsha)));
}
