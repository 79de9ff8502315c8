/** qa CLI–shaped uploads for tests and benchmarks, built from a captured request. */
import { sampleOutputUpload } from './fixtures';

export const shaOf = (n: number) => n.toString(16).padStart(8, '0').repeat(5);

export interface UploadSpec {
  project?: string;
  sha?: string;
  branch?: string;
  batch?: string;
  input?: string;
  authored?: string;
  committer?: string;
  status?: 'running' | 'done' | 'failed';
  metrics?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

/** A `POST /api/v1/output/` body like the CLI's, with the fields tests vary. */
export function outputUpload(spec: UploadSpec = {}, template = sampleOutputUpload()): Record<string, unknown> {
  const sha = spec.sha ?? shaOf(1);
  const running = spec.status === 'running';
  const input = spec.input ?? 'inputs/a.jpg';
  return {
    ...template,
    project: spec.project ?? 'group/repo',
    project_root: (spec.project ?? 'group/repo').split('/').slice(0, 2).join('/'),
    commit_sha: sha,
    git_commit_sha: sha,
    commit_branch: spec.branch ?? 'master',
    commit_authored_datetime: spec.authored ?? new Date().toISOString(),
    commit_committer_name: spec.committer ?? 'Ada Lovelace',
    batch_label: spec.batch ?? 'default',
    input_path: input,
    rel_input_path: input,
    output_directory: `/mnt/qaboard/ci/group/repo/${sha.slice(0, 2)}/output/${input}`,
    is_running: running,
    is_pending: running,
    metrics: running ? undefined : { is_failed: spec.status === 'failed', ...spec.metrics },
    ...spec.extra,
  };
}
