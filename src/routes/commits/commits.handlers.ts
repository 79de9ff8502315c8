import { commitsInWindow, latestSuccessfulCommit, readCommit } from '../../domain/read/commits';
import type { AppContext, AppRouteHandler } from '../../lib/types';
import type { GetCommit, GetCommitById, ListBranchCommits, ListCommits } from './commits.routes';

export const getCommitById: AppRouteHandler<GetCommitById> = async (c) => {
  const { project, batch, metrics } = c.req.valid('query');
  const options = { batchLabel: batch, metrics, withOutputs: true };
  return c.json(await readCommit(c.var.db, project, c.req.valid('param').id, options), 200);
};

export const getCommit: AppRouteHandler<GetCommit> = async (c) => {
  const { project, batch, metrics, commit, branch } = c.req.valid('query');
  const options = { batchLabel: batch, metrics, withOutputs: true };
  const found = commit
    ? await readCommit(c.var.db, project, commit, options)
    : await latestSuccessfulCommit(c.var.db, project, branch, options);
  return c.json(found, 200);
};

type CommitListQuery = ReturnType<Parameters<AppRouteHandler<ListCommits>>[0]['req']['valid']>;

/** The page of commits a list query asks for (`only_ci_batches` means the `default` batch), with its `Link` to the next. */
async function commitsOfQuery(c: AppContext, query: CommitListQuery, branch?: string) {
  const batchLabel = query.batch ?? (query.only_ci_batches ? 'default' : undefined);
  const page = await commitsInWindow(
    c.var.db,
    { projectId: query.project, branch, committer: query.committer, from: query.from, to: query.to },
    { batchLabel, metrics: query.metrics, withOutputs: query.with_outputs },
    { limit: query.limit, cursor: query.cursor },
  );
  if (page.next) {
    const next = new URL(c.req.url);
    next.searchParams.set('cursor', page.next);
    c.header('Link', `<${next.pathname}${next.search}>; rel="next"`);
  }
  return page.commits;
}

export const listCommits: AppRouteHandler<ListCommits> = async (c) => c.json(await commitsOfQuery(c, c.req.valid('query')), 200);

export const listBranchCommits: AppRouteHandler<ListBranchCommits> = async (c) =>
  c.json(await commitsOfQuery(c, c.req.valid('query'), c.req.valid('param').branch), 200);
