import { deleteCommitBatches as deleteBatchesOf } from '../../domain/batches/batch-writes';
import { findCommit } from '../../domain/commits/find-commit';
import type { CommitDetailsOptions } from '../../domain/read/commit-details';
import { commitsInWindow, latestSuccessfulCommit, readCommit } from '../../domain/read/commits';
import { stringifyWithRawJson, type CommitJson } from '../../domain/v1-json';
import type { AppContext, AppRouteHandler } from '../../lib/types';
import { queueFileDeletions } from '../../maintenance/file-deletions';
import { cancelPipelines, submitRunRequest } from '../run-requests/submit-run-request';
import { visibleProjects } from '../visibility';
import type {
  DeleteCommitBatches,
  DeleteProjectCommitBatches,
  GetCommit,
  GetCommitById,
  ListBranchCommits,
  ListCommits,
  RequestTuning,
  SaveArtifacts,
} from './commits.routes';

/** How this server shows a commit's details: where files are by default, and the outputs it keeps. */
const detailsOptions = (c: AppContext, options: Pick<CommitDetailsOptions, 'batchLabel' | 'metrics' | 'withOutputs'>): CommitDetailsOptions => ({
  ...options,
  defaultStorage: c.var.config.files.defaultMode,
  keptOutputs: c.var.keptOutputs,
});

export const getCommitById: AppRouteHandler<GetCommitById> = async (c) => {
  const { project, batch, metrics } = c.req.valid('query');
  const options = detailsOptions(c, { batchLabel: batch, metrics, withOutputs: true });
  return commitsJson(c, await readCommit(c.var.db, project, c.req.valid('param').id, options));
};

export const getCommit: AppRouteHandler<GetCommit> = async (c) => {
  const { project, batch, metrics, commit, branch } = c.req.valid('query');
  const options = detailsOptions(c, { batchLabel: batch, metrics, withOutputs: true });
  const found = commit
    ? await readCommit(c.var.db, project, commit, options)
    : await latestSuccessfulCommit(c.var.db, project, branch, options);
  return commitsJson(c, found);
};

/**
 * A 200 of commits as `c.json` would send them, with their outputs as Postgres wrote them
 * (v1-json.ts `RawJson`). Hono can't type a body it didn't serialise: `never` stands for the
 * route's JSON answer, which it is.
 */
const commitsJson = (c: AppContext, commits: CommitJson | CommitJson[]) =>
  c.body(stringifyWithRawJson(commits), 200, { 'Content-Type': 'application/json' }) as never;

type CommitListQuery = ReturnType<Parameters<AppRouteHandler<ListCommits>>[0]['req']['valid']>;

/** The page of commits a list query asks for (`only_ci_batches` means the `default` batch), with its `Link` to the next. */
async function commitsOfQuery(c: AppContext, query: CommitListQuery, branch?: string) {
  const batchLabel = query.batch ?? (query.only_ci_batches ? 'default' : undefined);
  const page = await commitsInWindow(
    c.var.db,
    { projectId: query.project, branch, committer: query.committer, from: query.from, to: query.to },
    detailsOptions(c, { batchLabel, metrics: query.metrics, withOutputs: query.with_outputs }),
    { limit: query.limit, cursor: query.cursor },
  );
  if (page.next) {
    const next = new URL(c.req.url);
    next.searchParams.set('cursor', page.next);
    c.header('Link', `<${next.pathname}${next.search}>; rel="next"`);
  }
  return page.commits;
}

export const listCommits: AppRouteHandler<ListCommits> = async (c) => commitsJson(c, await commitsOfQuery(c, c.req.valid('query')));

export const listBranchCommits: AppRouteHandler<ListBranchCommits> = async (c) =>
  commitsJson(c, await commitsOfQuery(c, c.req.valid('query'), c.req.valid('param').branch));

async function deleteBatches(c: AppContext, project: string | undefined, hexsha: string) {
  const { cancelled, fileDeletions, ...deleted } = await deleteBatchesOf(c.var.db, project, hexsha, visibleProjects(c));
  await cancelPipelines(c, cancelled);
  await queueFileDeletions(c.var.fileDeletions, fileDeletions);
  return { ...deleted, cancelled_run_requests: cancelled.map((r) => r.id) };
}

export const deleteCommitBatches: AppRouteHandler<DeleteCommitBatches> = async (c) =>
  c.json(await deleteBatches(c, undefined, c.req.valid('param').id), 200);

export const deleteProjectCommitBatches: AppRouteHandler<DeleteProjectCommitBatches> = async (c) => {
  const { project, id } = c.req.valid('param');
  return c.json(await deleteBatches(c, project, id), 200);
};

export const requestTuning: AppRouteHandler<RequestTuning> = async (c) => {
  const commit = await findCommit(c.var.db, c.req.valid('query').project, c.req.valid('param').hexsha);
  const { batch_label, ...parameters } = c.req.valid('json');
  const request = await submitRunRequest(c, {
    kind: 'tuning',
    projectId: commit.projectId,
    commitId: commit.id,
    batch: { label: batch_label, create: true },
    parameters,
  });
  return c.json(request, 202);
};

export const saveArtifacts: AppRouteHandler<SaveArtifacts> = async (c) => {
  const { project, hexsha } = c.req.valid('json');
  const commit = await findCommit(c.var.db, project, hexsha);
  const request = await submitRunRequest(c, { kind: 'save-artifacts', projectId: commit.projectId, commitId: commit.id, parameters: {} });
  return c.json(request, 202);
};
