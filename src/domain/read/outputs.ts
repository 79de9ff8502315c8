import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { notFound } from '../../lib/problem';
import { outputColumns, outputContextColumns, type OutputInContextRow } from '../rows';
import type { StorageMode } from '../storage-locations';
import { outputInContextJson, type OutputJson } from '../v1-json';

/**
 * `GET /api/v1/output/:id` — `qa wait` polls it while the output is pending. Outputs of projects
 * the caller can't see are reported missing, so ids don't reveal other projects' outputs.
 */
export async function readOutput(
  db: Db,
  outputId: number,
  canSeeProject: (projectId: string) => boolean,
  defaultStorage: StorageMode = 'shared-disk',
): Promise<OutputJson> {
  const [row] = await queryRows<OutputInContextRow>(
    db,
    sql`SELECT ${outputColumns}, ${outputContextColumns}
    FROM outputs o
    JOIN test_inputs t ON t.id = o.test_input_id
    JOIN batches b ON b.id = o.batch_id
    JOIN ci_commits c ON c.id = b.ci_commit_id
    JOIN projects p ON p.id = c.project_id
    WHERE o.id = ${outputId}`,
  );
  if (!row || !canSeeProject(row.projectId)) throw notFound(`Sorry, there is no output ${outputId}.`);
  return outputInContextJson(row, defaultStorage);
}
