/**
 * Commits, batches and outputs as the v1 API shows them (the web app and the qa CLI read these
 * field names), built from the rows of domain/rows.ts, with the URLs of their folders.
 */
import { batchDir, commitLocations, defaultOutputDir, dirToUrl } from './storage-locations';
import type { BatchRow, CommitRow, OutputInContextRow, OutputRow } from './rows';

export function outputJson(row: OutputRow, batchDirectory: () => string) {
  const outputDir =
    row.outputDirOverride ??
    defaultOutputDir(batchDirectory(), {
      platform: row.platform,
      configurations: row.configurations,
      extraParameters: row.extraParameters,
      testInputPath: row.testInputPath,
    });
  return {
    id: row.id,
    output_type: row.outputType,
    platform: row.platform,
    configurations: row.configurations,
    extra_parameters: row.extraParameters,
    metrics: row.metrics,
    is_failed: row.isFailed,
    is_pending: row.isPending,
    is_running: row.isRunning,
    data: row.data,
    deleted: row.deleted,
    created_date: row.createdDate,
    output_dir_url: dirToUrl(outputDir),
    test_input_database: row.testInputDatabase,
    test_input_path: row.testInputPath,
    test_input_metadata: row.testInputMetadata ?? {},
  };
}
export type OutputJson = ReturnType<typeof outputJson>;

export function outputInContextJson(row: OutputInContextRow): OutputJson {
  return outputJson(row, () => {
    const { outputsDir } = commitLocations(
      { id: row.projectId, data: row.projectData ?? {} },
      { hexsha: row.hexsha, data: row.commitData ?? {}, commitDirOverride: row.commitDirOverride },
    );
    return batchDir(outputsDir, { label: row.batchLabel, batchDirOverride: row.batchDirOverride });
  });
}

/** Per-batch output counts and aggregated metrics, computed in SQL (see read/commit-details.ts). */
export interface BatchSummary {
  valid_outputs: number;
  pending_outputs: number;
  running_outputs: number;
  failed_outputs: number;
  deleted_outputs: number;
  aggregated_metrics: Record<string, number>;
}

export function commitJson(commit: CommitRow, batches: { row: BatchRow; summary: BatchSummary; outputs?: OutputRow[] }[]) {
  const locations = commitLocations(
    { id: commit.projectId, data: commit.projectData },
    { hexsha: commit.hexsha, data: commit.commitData, commitDirOverride: commit.commitDirOverride },
  );
  return {
    id: commit.hexsha,
    branch: commit.branch?.replace(/^origin\//, '') ?? null,
    message: commit.message ?? '<NA>',
    committer_name: commit.committerName ?? 'unknown',
    // The author's GitLab avatar when the GitLab integration found one; "" makes the web app draw initials.
    committer_avatar_url: commit.committerAvatarUrl ?? '',
    authored_datetime: commit.authoredDatetime,
    authored_date: commit.authoredDate,
    latest_output_datetime: commit.latestOutputDatetime,
    deleted: commit.deleted,
    data: commit.commitData,
    outputs_url: dirToUrl(locations.outputsDir),
    artifacts_url: dirToUrl(locations.artifactsDir),
    repo_artifacts_url: dirToUrl(locations.repoArtifactsDir),
    batches: Object.fromEntries(
      batches.map(({ row, summary, outputs }) => {
        const directory = batchDir(locations.outputsDir, { label: row.label, batchDirOverride: row.batchDirOverride });
        const batch = {
          id: row.id,
          commit_id: commit.hexsha,
          label: row.label,
          created_date: row.createdDate,
          data: row.data,
          batch_dir_url: dirToUrl(directory),
          ...summary,
          ...(outputs && {
            outputs: Object.fromEntries(outputs.map((o) => [String(o.id), outputJson(o, () => directory)])),
          }),
        };
        return [row.label, batch];
      }),
    ),
  };
}
export type CommitJson = ReturnType<typeof commitJson>;
