/**
 * What a commit is compared with. `reference` names a milestone (its key in the project's
 * `data.milestones`, as the web app saves them: `<project>/<hexsha>/<batch>`), a commit (a hexsha
 * prefix) or a branch (its latest commit with results), tried in that order. Without one: the
 * latest commit with results on the project's reference branch. A branch's latest commit is never
 * the compared commit itself; a commit named explicitly may be (to compare two of its batches).
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { notFound } from '../../lib/problem';
import { commitByPrefix, latestSuccessfulCommitRow } from '../read/commits';
import type { CommitRow } from '../rows';

type Json = Record<string, unknown>;

/** A batch of a commit, as compared. */
export interface ComparedBatch {
  commit: CommitRow;
  batchId: number;
  label: string;
}

export interface Reference extends ComparedBatch {
  resolvedFrom: 'default' | 'milestone' | 'commit' | 'branch';
  /** What the caller asked for (`reference`), or the reference branch. */
  requested: string;
}

/** The default reference could not be found: a verdict can still be given (`incomplete`). */
export interface NoReference {
  missing: string;
}

export async function batchOfCommit(db: Db, commit: CommitRow, label: string): Promise<ComparedBatch | undefined> {
  const [batch] = await queryRows<{ id: number }>(db, sql`SELECT id FROM batches WHERE ci_commit_id = ${commit.commitId} AND label = ${label}`);
  return batch && { commit, batchId: batch.id, label };
}

async function commitBatch(db: Db, commit: CommitRow, label: string): Promise<ComparedBatch> {
  const batch = await batchOfCommit(db, commit, label);
  if (!batch) throw notFound(`The reference commit ${commit.hexsha} has no batch ${label}.`);
  return batch;
}

interface Milestone {
  commit?: unknown;
  batch?: unknown;
  project?: unknown;
}

export interface ReferenceQuery {
  /** The compared commit's project (with its data: milestones, config). */
  project: { id: string; data: Json };
  newHexsha: string;
  reference?: string;
  referenceBatch: string;
  /** A milestone may point into another project: only one the caller can see. */
  canSeeProject: (projectId: string) => boolean;
}

export async function resolveReference(db: Db, query: ReferenceQuery): Promise<Reference | NoReference> {
  const { project, newHexsha, reference, referenceBatch } = query;
  const excludingHexsha = newHexsha;
  if (reference === undefined) {
    const { commit, branch } = await latestSuccessfulCommitRow(db, project.id, undefined, { batchLabel: referenceBatch, excludingHexsha });
    if (!commit) return { missing: `no other commit on ${branch} has results in batch ${referenceBatch}` };
    return { ...(await commitBatch(db, commit, referenceBatch)), resolvedFrom: 'default', requested: branch };
  }

  const milestones = project.data.milestones;
  const milestone = milestones && typeof milestones === 'object' ? (milestones as Record<string, Milestone | undefined>)[reference] : undefined;
  if (milestone && typeof milestone === 'object' && typeof milestone.commit === 'string') {
    const projectId = typeof milestone.project === 'string' && milestone.project ? milestone.project : project.id;
    const commit = query.canSeeProject(projectId) ? await commitByPrefix(db, projectId, milestone.commit) : undefined;
    if (!commit) throw notFound(`The milestone ${reference} names commit ${milestone.commit}, which has no results.`);
    const label = typeof milestone.batch === 'string' && milestone.batch ? milestone.batch : 'default';
    return { ...(await commitBatch(db, commit, label)), resolvedFrom: 'milestone', requested: reference };
  }

  if (/^[0-9a-f]{4,64}$/i.test(reference)) {
    const commit = await commitByPrefix(db, project.id, reference);
    if (commit) return { ...(await commitBatch(db, commit, referenceBatch)), resolvedFrom: 'commit', requested: reference };
  }

  const { commit } = await latestSuccessfulCommitRow(db, project.id, reference, { batchLabel: referenceBatch, excludingHexsha });
  if (commit) return { ...(await commitBatch(db, commit, referenceBatch)), resolvedFrom: 'branch', requested: reference };
  throw notFound(`No reference ${reference} in ${project.id}: not a milestone, another commit, or a branch with results in batch ${referenceBatch}.`);
}
