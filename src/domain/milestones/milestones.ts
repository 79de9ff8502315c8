/**
 * Milestones the web app saves, kept where the original kept them — `projects.data.milestones`,
 * `{ "<project>/<hexsha>/<batch label>": {label, notes, commit, branch, batch, filter, date, project?} }` —
 * stored in the project of the page they were saved from; `project` names the commit's project
 * when it is another one (a sub-project). The web app re-reads them from `GET /api/v1/projects`.
 *
 * A milestone protects its commit: its batches can't be deleted, and retention keeps its outputs.
 */
import { z } from '@hono/zod-openapi';
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { boundedText } from '../../lib/fields';
import { ApiError, notFound } from '../../lib/problem';
import { batchLabel, projectId } from '../fields';

const optionalText = boundedText(65_536, 0).nullish();

export const milestoneSchema = z
  .object({
    label: optionalText,
    notes: optionalText,
    commit: z.string().regex(/^[0-9a-fA-F]{4,64}$/, 'must be a hexadecimal commit id').openapi({ example: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1' }),
    branch: boundedText(1024, 0).nullish(),
    batch: batchLabel().nullish(),
    filter: optionalText,
    date: boundedText(64, 0).nullish(),
    project: projectId().optional().openapi({ description: "The commit's project, when it is not the project the milestone is saved in." }),
    saved_at: z.string().optional().openapi({ description: 'When the server saved it (set by the server).' }),
  })
  .catchall(z.unknown())
  .openapi('Milestone', {
    example: {
      label: 'v2.3 release',
      notes: 'Shipped to the camera team',
      commit: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
      branch: 'master',
      batch: 'default',
      filter: '',
      date: '2026-11-28T19:53:32.117Z',
    },
  });
export type Milestone = z.infer<typeof milestoneSchema>;
export type Milestones = Record<string, Milestone>;

export const milestonesSchema = z.record(z.string(), milestoneSchema).openapi('Milestones', {
  example: {
    'group/repo/48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1/default': {
      label: 'v2.3 release',
      notes: '',
      commit: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
      branch: 'master',
      batch: 'default',
      filter: '',
      date: '2026-11-28T19:53:32.117Z',
    },
  },
});

/** `data.milestones` as stored, `{}` when absent or not an object. */
const storedMilestones = sql`CASE WHEN jsonb_typeof(p.data -> 'milestones') = 'object' THEN p.data -> 'milestones' ELSE '{}'::jsonb END`;

/**
 * The commits milestones protect, as `(project_id, hexsha)` rows: THE rule, for deletions and
 * retention alike. A milestone protects the commit it names, in its `project` or else in the
 * project it is saved in.
 */
export const milestoneCommits: SQL = sql`
  SELECT COALESCE(m.value ->> 'project', p.id) AS project_id, lower(m.value ->> 'commit') AS hexsha
  FROM projects p, jsonb_each(${storedMilestones}) m
  WHERE jsonb_typeof(m.value) = 'object'`;

/** The batches milestones point at (a milestone's `batch`, `default` when absent), as `(project_id, hexsha, label)`. */
export const milestoneBatches: SQL = sql`
  SELECT COALESCE(m.value ->> 'project', p.id) AS project_id, lower(m.value ->> 'commit') AS hexsha,
    COALESCE(NULLIF(m.value ->> 'batch', ''), 'default') AS label
  FROM projects p, jsonb_each(${storedMilestones}) m
  WHERE jsonb_typeof(m.value) = 'object'`;

/** Refuses to delete the batches of a commit a milestone points at. */
export async function assertNotMilestoneCommit(db: Db, projectId: string, hexsha: string): Promise<void> {
  const [row] = await queryRows<{ protected: boolean }>(
    db,
    sql`SELECT EXISTS (SELECT 1 FROM (${milestoneCommits}) mc WHERE mc.project_id = ${projectId} AND mc.hexsha = ${hexsha}) AS protected`,
  );
  if (row?.protected) throw new ApiError(403, `Commit ${hexsha} of ${projectId} is a milestone: its batches can't be deleted (delete the milestone first).`);
}

/** Refuses to delete a batch a milestone points at (its files may still be deleted: a soft delete). */
export async function assertNotMilestoneBatch(db: Db, projectId: string, hexsha: string, label: string): Promise<void> {
  const [row] = await queryRows<{ protected: boolean }>(
    db,
    sql`SELECT EXISTS (SELECT 1 FROM (${milestoneBatches}) mb
        WHERE mb.project_id = ${projectId} AND mb.hexsha = ${hexsha} AND mb.label = ${label}) AS protected`,
  );
  if (row?.protected) throw new ApiError(403, `Batch ${label} of commit ${hexsha} is a milestone: it can't be deleted (delete the milestone first, or delete its files only with soft=true).`);
}

async function projectMilestones(db: Db, query: SQL, projectIdValue: string): Promise<Milestones> {
  const [row] = await queryRows<{ milestones: Milestones }>(db, query);
  if (!row) throw notFound(`Sorry, there is no project ${projectIdValue}.`);
  return row.milestones;
}

export const readMilestones = (db: Db, project: string) =>
  projectMilestones(db, sql`SELECT ${storedMilestones} AS milestones FROM projects p WHERE p.id = ${project}`, project);

/** Saves (replaces) one milestone; answers them all. The server stamps `saved_at` (see `deleteMilestone`). */
export const saveMilestone = (db: Db, project: string, key: string, milestone: Milestone) =>
  projectMilestones(
    db,
    sql`UPDATE projects p SET data = jsonb_set(p.data, '{milestones}',
          ${storedMilestones} || jsonb_build_object(${key}::text, ${JSON.stringify(milestone)}::jsonb || jsonb_build_object('saved_at', now())))
        WHERE p.id = ${project}
        RETURNING COALESCE(p.data -> 'milestones', '{}'::jsonb) AS milestones`,
    project,
  );

/**
 * How long a freshly saved milestone ignores deletes. The web app saves a changed shared milestone
 * by sending "delete" then "save" back to back without waiting: the original, one process, handled
 * them in order; here they may be handled in either order. A delete that arrives right after the
 * save it preceded must not undo it.
 */
export const SAVE_WINS_OVER_DELETE_MS = 2_000;

/** Deletes one milestone (a missing one is no error: deletes are retried); answers the rest. */
export const deleteMilestone = (db: Db, project: string, key: string) =>
  projectMilestones(
    db,
    sql`UPDATE projects p SET data = CASE
          WHEN (${storedMilestones} -> ${key}::text ->> 'saved_at')::timestamptz > now() - ${`${SAVE_WINS_OVER_DELETE_MS} milliseconds`}::interval
          THEN p.data
          ELSE jsonb_set(p.data, '{milestones}', ${storedMilestones} - ${key}::text) END
        WHERE p.id = ${project}
        RETURNING COALESCE(p.data -> 'milestones', '{}'::jsonb) AS milestones`,
    project,
  );
