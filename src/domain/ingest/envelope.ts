/**
 * The JSON the `qa` CLI posts to every ingestion route: one big envelope with the commit, its
 * qaboard.yaml config and metric definitions, and — for outputs — the run. Unknown fields are
 * accepted and ignored (the CLI sends many: `dryrun`, `color`, `inputs_settings`…).
 */
import { z } from '@hono/zod-openapi';
import { boundedText, storableTimestamp } from '../../lib/fields';
import { locationProblem } from '../storage-locations';
import { legacyConfigurationProblem, MAX_CONFIGURATIONS } from './configurations';
import { batchLabel, branchName, inputDatabase, inputPath, platformName, projectId } from '../fields';

const jsonObject = z.record(z.string(), z.unknown());
const optionalText = boundedText(4096, 0).nullish();
/** A folder the client names (absolute path or http(s) URL): it becomes a link in the web app. */
const storageLocation = boundedText(4096, 0)
  .superRefine((location, ctx) => {
    const problem = locationProblem(location);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .nullish();

const commitSha = z
  .string()
  .regex(/^[0-9a-fA-F]{4,64}$/, 'must be a hexadecimal commit id')
  .transform((sha) => sha.toLowerCase());

const commitEnvelope = z
  .object({
    project: projectId(),
    project_root: optionalText.openapi({ description: 'The repository (qatools: the root qaboard.yaml `project.name`): taken only when it is `project` or a parent folder of it.' }),
    commit_sha: commitSha.optional(),
    git_commit_sha: commitSha.optional().openapi({ description: 'Legacy name of commit_sha.' }),
    commit_branch: branchName().nullish(),
    commit_tag: optionalText,
    commit_committer_name: optionalText,
    commit_committer_email: optionalText,
    commit_authored_datetime: storableTimestamp({ local: true }).nullish().openapi({
      description: "ISO 8601; without an offset it is UTC (Python's naive `isoformat()`).",
    }),
    commit_parents: z.array(z.string().max(64)).max(64).nullish(),
    commit_message: z.string().max(65536).nullish(),
    artifacts_commit: storageLocation,
    commit_ci_dir: storageLocation.openapi({ description: 'Legacy name of artifacts_commit.' }),
    qaboard_config: jsonObject.nullish(),
    qaboard_metrics: jsonObject.nullish(),
    batch_label: batchLabel().default('default'),
    job_type: z.string().max(64).nullish(),
    user: z.string().max(256).nullish(),
  });
export type CommitEnvelope = z.infer<typeof commitEnvelope>;

/** Uploads that don't name the commit in their path must name it in the body. */
const MISSING_SHA = { path: ['commit_sha'], message: 'commit_sha (or git_commit_sha) is required' };

function requireCommitSha(upload: CommitEnvelope, ctx: z.RefinementCtx) {
  if (!envelopeSha(upload)) ctx.addIssue({ code: 'custom', ...MISSING_SHA });
}

/** An output upload's fields, each checked on its own; `outputUpload` adds the rules across fields. */
export const outputUploadFields = commitEnvelope.extend({
  platform: platformName().default('linux'),
  configuration: z.string().max(65536).optional().openapi({ description: 'Legacy `:`-separated configurations.' }),
  configurations: z.array(z.unknown()).max(MAX_CONFIGURATIONS).optional(),
  extra_parameters: jsonObject.default({}),
  input_type: z.string().max(256).nullish(),
  database: inputDatabase(),
  rel_input_path: inputPath().optional(),
  input_path: inputPath().optional(),
  input_metadata: jsonObject.nullish(),
  output_directory: storageLocation,
  data: jsonObject.nullish(),
  is_running: z.boolean().nullish(),
  is_pending: z.boolean().nullish(),
  is_failed: z.boolean().nullish(),
  metrics: jsonObject.nullish(),
});

/** What is wrong across an output upload's fields (each field valid on its own). */
export function outputUploadProblems(upload: z.infer<typeof outputUploadFields>): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  if (!envelopeSha(upload)) problems.push(MISSING_SHA);
  // The string is only read when the list is not sent (the qa CLI sends both).
  const legacyProblem = upload.configurations === undefined && upload.configuration !== undefined && legacyConfigurationProblem(upload.configuration);
  if (legacyProblem) problems.push({ path: ['configuration'], message: legacyProblem });
  if (!upload.rel_input_path && !upload.input_path) {
    problems.push({ path: ['input_path'], message: 'the input path was not provided (input_path or rel_input_path)' });
  }
  return problems;
}

export const outputUpload = outputUploadFields
  .superRefine((upload, ctx) => {
    for (const problem of outputUploadProblems(upload)) ctx.addIssue({ code: 'custom', ...problem });
  })
  .openapi('OutputUpload', {
    example: {
      project: 'group/repo',
      project_root: 'group/repo',
      commit_sha: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
      commit_branch: 'master',
      commit_committer_name: 'Ada Lovelace',
      commit_authored_datetime: '2026-11-28T19:40:00+00:00',
      commit_message: 'Tune the denoiser',
      batch_label: 'default',
      job_type: 'ci',
      user: 'gitlab-runner',
      platform: 'linux',
      configurations: ['base'],
      extra_parameters: {},
      input_type: 'default',
      database: '/mnt/datasets/isp',
      rel_input_path: 'scenes/night/0001.dng',
      input_metadata: { iso: 800 },
      output_directory: '/mnt/qaboard/group/repo/48/b24841e38e16d6/output/scenes/night/0001',
      is_running: false,
      is_pending: false,
      metrics: { psnr: 31.5, loss: 0.25 },
    },
  });
export type OutputUpload = z.infer<typeof outputUpload>;

export const batchUpload = commitEnvelope
  .extend({
    batch_dir: storageLocation,
    prefix_output_dir: storageLocation.openapi({ description: 'Legacy name of batch_dir.' }),
    data: jsonObject.nullish().openapi({
      description: 'Merged into the batch data. `qa optimize` sends `optimization`, `iteration`, `iteration_label`, `is_best_iter`.',
    }),
    command: z.record(z.string(), jsonObject).nullish().openapi({ description: '`{command_id: {...}}`, merged into `data.commands`.' }),
  })
  .superRefine(requireCommitSha)
  .openapi('BatchUpload', {
    example: {
      project: 'group/repo',
      commit_sha: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1',
      batch_label: 'tuning-1',
      batch_dir: '/mnt/qaboard/group/repo/48/b24841e38e16d6/output/tuning-1',
      command: { 'c1a2': { argv: ['qa', 'batch', 'night'] } },
    },
  });
export type BatchUpload = z.infer<typeof batchUpload>;

export const commitUpload = commitEnvelope
  .extend({
    data: jsonObject.nullish().openapi({ description: 'Merged into the commit data.' }),
  })
  .openapi('CommitUpload', {
    description: 'The commit is named by the path, else by commit_sha.',
    example: { project: 'group/repo', commit_sha: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1', data: { lint: { warnings: 3 } } },
  });
export type CommitUpload = z.infer<typeof commitUpload>;

/** The commit sha of an envelope: `commit_sha`, else the legacy `git_commit_sha`. */
export function envelopeSha(envelope: CommitEnvelope): string | undefined {
  return envelope.commit_sha ?? envelope.git_commit_sha;
}

/**
 * An upload from its envelope and a run (bulk bodies and spooled chunks send the envelope once): the
 * run's fields over the envelope's. Object.assign, not a spread: V8 spreads the envelope's ~20 fields
 * several times slower, once per run. The sources are parsed JSON, whose `__proto__` keys json-body.ts
 * refuses, so no setter runs.
 */
export const withEnvelope = <T>(envelope: object, run: object): T => Object.assign({}, envelope, run) as T;
