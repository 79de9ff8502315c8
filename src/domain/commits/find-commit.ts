import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { notFound } from '../../lib/problem';

export interface CommitRef {
  id: number;
  hexsha: string;
  projectId: string;
  projectData: Record<string, unknown>;
  commitData: Record<string, unknown>;
}

/** A project's commit by its hexsha or a prefix of it (the exact one first), for writes about it. */
export async function findCommit(db: Db, projectId: string, commit: string): Promise<CommitRef> {
  const sha = commit.toLowerCase();
  const [row] = await queryRows<CommitRef>(
    db,
    sql`SELECT c.id, c.hexsha, c.project_id AS "projectId", p.data AS "projectData", c.data AS "commitData"
        FROM ci_commits c JOIN projects p ON p.id = c.project_id
        WHERE c.project_id = ${projectId} AND (c.hexsha = ${sha} OR starts_with(c.hexsha, ${sha}))
        ORDER BY c.hexsha = ${sha} DESC, c.id LIMIT 1`,
  );
  if (!row) throw notFound(`Sorry, we could not find commit ${commit} in project ${projectId}.`);
  return row;
}
