/**
 * Commits, batches and outputs as the v1 API shows them (the web app and the qa CLI read these
 * field names), built from the rows of domain/rows.ts, with the URLs of their folders.
 */
import { artifactKeys, artifactUrl, batchDir, commitLocations, configuredStorageMode, defaultOutputDir, dirToUrl, type StorageMode } from './storage-locations';
import type { BatchRow, CommitRow, OutputInContextRow, OutputRow } from './rows';

/** Where an output's files are: its folder on the shared disk (`batchDirectory`), or its R2 prefix under its commit's. */
export type OutputLocation = { mode: 'shared-disk'; batchDirectory: () => string } | { mode: 'r2'; batchKey: string };

function outputDirUrl(row: OutputRow, location: OutputLocation) {
  if (location.mode === 'r2') return artifactUrl(`${location.batchKey}/${row.id}`);
  const outputDir =
    row.outputDirOverride ??
    defaultOutputDir(location.batchDirectory(), {
      platform: row.platform,
      configurations: row.configurations,
      extraParameters: row.extraParameters,
      testInputPath: row.testInputPath,
    });
  return dirToUrl(outputDir);
}

export function outputJson(row: OutputRow, location: OutputLocation) {
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
    output_dir_url: outputDirUrl(row, location),
    test_input_database: row.testInputDatabase,
    test_input_path: row.testInputPath,
    test_input_metadata: row.testInputMetadata ?? {},
  };
}
export type OutputJson = ReturnType<typeof outputJson>;

export function outputInContextJson(row: OutputInContextRow, defaultStorage: StorageMode = 'shared-disk'): OutputJson {
  if ((row.storageMode ?? defaultStorage) === 'r2') return outputJson(row, { mode: 'r2', batchKey: artifactKeys.batch(row.projectId, row.hexsha, row.batchId) });
  return outputJson(row, {
    mode: 'shared-disk',
    batchDirectory: () => {
      const { outputsDir } = commitLocations(
        { id: row.projectId, data: row.projectData ?? {} },
        { hexsha: row.hexsha, data: row.commitData ?? {}, commitDirOverride: row.commitDirOverride },
      );
      return batchDir(outputsDir, { label: row.batchLabel, batchDirOverride: row.batchDirOverride });
    },
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

export function commitJson(
  commit: CommitRow,
  batches: { row: BatchRow; summary: BatchSummary; outputs?: OutputRow[] }[],
  defaultStorage: StorageMode = 'shared-disk',
) {
  const locations = commitLocations(
    { id: commit.projectId, data: commit.projectData },
    { hexsha: commit.hexsha, data: commit.commitData, commitDirOverride: commit.commitDirOverride },
  );
  const inR2 = (configuredStorageMode(commit.projectData, commit.commitData) ?? defaultStorage) === 'r2';
  const artifactsUrl = inR2 ? artifactUrl(artifactKeys.commitArtifacts(commit.projectId, commit.hexsha)) : undefined;
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
    outputs_url: inR2 ? artifactUrl(artifactKeys.commit(commit.projectId, commit.hexsha)) : dirToUrl(locations.outputsDir),
    artifacts_url: artifactsUrl ?? dirToUrl(locations.artifactsDir),
    repo_artifacts_url: artifactsUrl ?? dirToUrl(locations.repoArtifactsDir),
    batches: Object.fromEntries(
      batches.map(({ row, summary, outputs }) => {
        const directory = () => batchDir(locations.outputsDir, { label: row.label, batchDirOverride: row.batchDirOverride });
        const batchKey = artifactKeys.batch(commit.projectId, commit.hexsha, row.id);
        const location: OutputLocation = inR2 ? { mode: 'r2', batchKey } : { mode: 'shared-disk', batchDirectory: directory };
        const batch = {
          id: row.id,
          commit_id: commit.hexsha,
          label: row.label,
          created_date: row.createdDate,
          data: row.data,
          batch_dir_url: inR2 ? artifactUrl(batchKey) : dirToUrl(directory()),
          ...summary,
          ...(outputs && {
            outputs: Object.fromEntries(outputs.map((o) => [String(o.id), outputJson(o, location)])),
          }),
        };
        return [row.label, batch];
      }),
    ),
  };
}
export type CommitJson = ReturnType<typeof commitJson>;
