/**
 * The web app's "Groups of tests": per project, named YAML documents of batches (`extra-batches`
 * is shared, each user has one named after them), kept verbatim — comments and all — as the
 * original kept them in files. The tuning form edits them; tuning and previews read them after
 * the commit's own batches files.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { projects, testGroups } from '../../db/schema';
import { invalidFields, notFound } from '../../lib/problem';
import { parseYaml11, type BatchesFile } from './batches-files';

/** What a group that was never saved reads as (the original created its file with this). */
export const NEW_GROUPS_YAML = '# Docs:\n# https://samsung.github.io/qaboard/docs/batches-running-on-multiple-inputs';

async function assertProjectExists(db: Db, projectId: string) {
  const [project] = await db.select({ id: projects.id }).from(projects).where(eq(projects.id, projectId));
  if (!project) throw notFound(`Sorry, there is no project ${projectId}.`);
}

export async function readTestGroups(db: Db, projectId: string, name: string): Promise<string> {
  await assertProjectExists(db, projectId);
  const [group] = await db
    .select({ yaml: testGroups.yaml })
    .from(testGroups)
    .where(and(eq(testGroups.project_id, projectId), eq(testGroups.name, name)));
  return group?.yaml ?? NEW_GROUPS_YAML;
}

/** A 400 for a document `qa batch` could not read: the parser's message, with the line and column. */
function checkGroupsYaml(text: string) {
  let value: unknown;
  try {
    value = parseYaml11(text);
  } catch (error) {
    const { message, linePos } = error as Error & { linePos?: { line: number; col: number }[] };
    const where = linePos?.[0];
    throw invalidFields([{ field: 'groups', message: `invalid YAML${where ? ` at line ${where.line}, column ${where.col}` : ''}: ${message.split(' at line ')[0]}` }]);
  }
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw invalidFields([{ field: 'groups', message: 'must be a YAML mapping of batches (name: {inputs, configurations…})' }]);
  }
}

/** Saves a document after checking it parses; answers when it was saved. */
export async function saveTestGroups(db: Db, projectId: string, name: string, yaml: string): Promise<{ status: 'OK'; updated_at: string }> {
  checkGroupsYaml(yaml);
  await assertProjectExists(db, projectId);
  const [saved] = await queryRows<{ updated_at: string }>(
    db,
    sql`INSERT INTO test_groups (project_id, name, yaml) VALUES (${projectId}, ${name}, ${yaml})
        ON CONFLICT (project_id, name) DO UPDATE SET yaml = EXCLUDED.yaml, updated_at = now()
        RETURNING to_json(updated_at)#>>'{}' AS updated_at`,
  );
  return { status: 'OK', updated_at: saved!.updated_at };
}

/** The stored groups named, in that order, as batches files (a group never saved is empty). */
export async function storedGroupFiles(db: Db, projectId: string, names: string[]): Promise<BatchesFile[]> {
  if (!names.length) return [];
  const rows = await db
    .select({ name: testGroups.name, yaml: testGroups.yaml })
    .from(testGroups)
    .where(and(eq(testGroups.project_id, projectId), inArray(testGroups.name, names)));
  const byName = new Map(rows.map((r) => [r.name, r.yaml]));
  return names.map((name) => ({ name: `${name}.yml`, text: byName.get(name) ?? '' }));
}
