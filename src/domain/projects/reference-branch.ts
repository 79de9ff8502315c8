/** The branch a project is measured against: qaboard.yaml `project.reference_branch`, `master` by default. */
type Json = Record<string, unknown>;

export const DEFAULT_REFERENCE_BRANCH = 'master';

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** From a qaboard.yaml config (a commit's, or a project's `data.qatools_config`). */
export function referenceBranchOf(config: unknown): string {
  const project = isObject(config) ? config.project : undefined;
  return isObject(project) && typeof project.reference_branch === 'string' && project.reference_branch
    ? project.reference_branch
    : DEFAULT_REFERENCE_BRANCH;
}

/** From a project's data. */
export const projectReferenceBranch = (projectData: Json) => referenceBranchOf(projectData.qatools_config);
