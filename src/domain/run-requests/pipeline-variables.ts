/**
 * What a run request's pipeline gets: the ref to run on and the CI/CD variables its `.gitlab-ci.yml`
 * job reads (README: "Run requests in CI"). Every request:
 *   QA_RUN_REQUEST_ID, QA_RUN_KIND (tuning | redo-batch | redo-output | save-artifacts),
 *   QA_PROJECT, QA_SUBPROJECT (the project's folder in the repository, `.` at its root),
 *   QA_COMMIT (the commit to check out: GitLab runs pipelines on a branch's head, not on a commit),
 *   QA_BATCH_COMMAND_ID (the qa CLI reports it with its uploads: how they are recognised).
 * Requests that run a batch add:
 *   QA_BATCH_LABEL, QA_BATCHES (a *file* variable: the batches file to run), QA_BATCH (the batch or
 *   alias in it), QA_ACTION_ON_EXISTING (run | sync | skip), QABOARD_TUNING=true, and when set
 *   QA_PLATFORM, QA_TUNING_SEARCH (JSON, for `qa batch --tuning-search`) or QA_TUNING_CONFIG (a
 *   file: `qa optimize --config-file`).
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { referenceBranchOf } from '../projects/reference-branch';
import { projectRepository } from '../storage-locations';
import { stringifyYaml11, tuningBatchesYaml, type BatchesFile } from '../test-groups/batches-files';
import type { RunRequest } from './run-requests';

type Json = Record<string, unknown>;

/** A CI/CD variable of a new pipeline; `file` ones reach the job as the path of a file holding the value. */
export interface PipelineVariable {
  key: string;
  value: string;
  variable_type?: 'env_var' | 'file';
}

export interface DispatchContext {
  request: RunRequest;
  projectData: Json;
  commit: { branch: string | null; data: Json };
}

export async function dispatchContext(db: Db, request: RunRequest): Promise<DispatchContext> {
  const [row] = await queryRows<{ projectData: Json; branch: string | null; commitData: Json }>(
    db,
    sql`SELECT p.data AS "projectData", c.branch, c.data AS "commitData"
        FROM run_requests r JOIN ci_commits c ON c.id = r.ci_commit_id JOIN projects p ON p.id = r.project_id
        WHERE r.id = ${request.id}`,
  );
  return { request, projectData: row!.projectData, commit: { branch: row!.branch, data: row!.commitData } };
}

/** The GitLab project, and the branch its pipeline runs on: the commit's, else the project's reference branch. */
export function pipelineTarget({ request, projectData, commit }: DispatchContext): { gitlabProject: string; ref: string } {
  const { idGit } = projectRepository({ id: request.project_id, data: projectData });
  const ref = commit.branch?.replace(/^origin\//, '') || referenceBranchOf(commit.data.qatools_config ?? projectData.qatools_config);
  return { gitlabProject: idGit, ref };
}

/** A run to redo: an output's identity, as `qa batch` needs it. */
export interface RedoRun {
  input_path: string;
  database: string;
  configurations: unknown[];
  platform: string;
  extra_parameters: Json;
  output_type: string;
}

/** The outputs a redo request selects: its output, or its batch's (failed ones, deleted ones, or all). */
export function redoRuns(db: Db, request: RunRequest): Promise<RedoRun[]> {
  const parameters = request.parameters as { output_id?: number; only_failed?: boolean; only_deleted?: boolean };
  const selection =
    request.kind === 'redo-output'
      ? sql`o.id = ${parameters.output_id ?? 0}`
      : sql`o.batch_id = ${request.batch_id ?? 0} ${parameters.only_failed ? sql`AND o.is_failed` : sql``} ${parameters.only_deleted ? sql`AND o.deleted` : sql``}`;
  return queryRows<RedoRun>(
    db,
    sql`SELECT t.path AS input_path, t.database, o.configurations, o.platform, o.extra_parameters, o.output_type
        FROM outputs o JOIN test_inputs t ON t.id = o.test_input_id WHERE ${selection} ORDER BY o.id`,
  );
}

export const REDO_BATCH = 'qa-redo';

/**
 * A batches file that runs the given outputs again: one batch per platform, each input with its
 * database, configurations and type; the outputs' distinct tuning parameters become a
 * `--tuning-search` of those points. (`qa batch` runs every input with every point: when the
 * outputs are not such a grid, a redo runs the missing combinations too.)
 */
export function redoBatches(runs: RedoRun[]): { yaml: string; tuningSearch?: Json } {
  const byPlatform = new Map<string, Map<string, Json>>();
  const points = new Map<string, Json>();
  for (const run of runs) {
    const input = {
      [run.input_path]: {
        database: run.database,
        platform: run.platform,
        ...(run.output_type && { type: run.output_type }),
        configurations: run.configurations,
      },
    };
    const inputs = byPlatform.get(run.platform) ?? new Map<string, Json>();
    inputs.set(JSON.stringify(input), input);
    byPlatform.set(run.platform, inputs);
    points.set(JSON.stringify(run.extra_parameters), run.extra_parameters);
  }
  const batches = Object.fromEntries(
    [...byPlatform].map(([platform, inputs]) => [`${REDO_BATCH}-${platform}`, { platform, configurations: [], inputs: [...inputs.values()] }]),
  );
  const yaml = stringifyYaml11({ aliases: { [REDO_BATCH]: Object.keys(batches) }, ...batches });
  const parameterSets = [...points.values()];
  if (parameterSets.every((set) => !Object.keys(set).length)) return { yaml };
  const grid = parameterSets.map((set) => Object.fromEntries(Object.entries(set).map(([key, value]) => [key, [value]])));
  return { yaml, tuningSearch: { search_type: 'grid', parameter_search: grid } };
}

/** What the tuning form sent (see routes/commits/commit-writes.routes.ts). */
export interface TuningParameters {
  selected_group: string;
  groups: string[];
  tuning_search: { search_type: 'grid' | 'sampler' | 'optimize'; search_options?: Json; parameter_search?: unknown };
  platform?: string;
  overwrite: boolean;
  user?: string;
}

export interface BatchRun {
  batchesYaml: string;
  batch: string;
  actionOnExisting: 'run' | 'sync' | 'skip';
  platform?: string;
  tuningSearch?: Json;
  /** `qa optimize`'s configuration (YAML). */
  optimizeConfig?: string;
}

/** A tuning request's run: the commit's batches files and the stored groups merged, its search. */
export function tuningRun(parameters: TuningParameters, files: BatchesFile[]): BatchRun {
  const search = parameters.tuning_search;
  const optimize = search.search_type === 'optimize';
  return {
    batchesYaml: tuningBatchesYaml(files, parameters.selected_group),
    batch: parameters.selected_group,
    actionOnExisting: parameters.overwrite ? 'run' : 'sync',
    platform: parameters.platform,
    ...(optimize ? { optimizeConfig: String(search.parameter_search ?? '') } : { tuningSearch: search }),
  };
}

/** A redo request's run: its outputs again — all re-run, or (`only_failed`) whatever did not succeed. */
export function redoRun(request: RunRequest, runs: RedoRun[]): BatchRun {
  const { yaml, tuningSearch } = redoBatches(runs);
  const onlyFailed = Boolean((request.parameters as { only_failed?: boolean }).only_failed);
  return { batchesYaml: yaml, batch: REDO_BATCH, actionOnExisting: onlyFailed ? 'skip' : 'run', tuningSearch };
}

export function pipelineVariables({ request, projectData }: DispatchContext, run?: BatchRun): PipelineVariable[] {
  const { idRelative } = projectRepository({ id: request.project_id, data: projectData });
  const variables: PipelineVariable[] = [
    { key: 'QA_RUN_REQUEST_ID', value: String(request.id) },
    { key: 'QA_RUN_KIND', value: request.kind },
    { key: 'QA_PROJECT', value: request.project_id },
    { key: 'QA_SUBPROJECT', value: idRelative || '.' },
    { key: 'QA_COMMIT', value: request.commit },
    { key: 'QA_BATCH_COMMAND_ID', value: request.command_id },
  ];
  if (!run) return variables;
  variables.push(
    { key: 'QA_BATCH_LABEL', value: request.batch_label ?? 'default' },
    { key: 'QA_BATCHES', value: run.batchesYaml, variable_type: 'file' },
    { key: 'QA_BATCH', value: run.batch },
    { key: 'QA_ACTION_ON_EXISTING', value: run.actionOnExisting },
    { key: 'QABOARD_TUNING', value: 'true' },
  );
  if (run.platform) variables.push({ key: 'QA_PLATFORM', value: run.platform });
  if (run.tuningSearch) variables.push({ key: 'QA_TUNING_SEARCH', value: JSON.stringify(run.tuningSearch) });
  if (run.optimizeConfig !== undefined) variables.push({ key: 'QA_TUNING_CONFIG', value: run.optimizeConfig, variable_type: 'file' });
  return variables;
}
