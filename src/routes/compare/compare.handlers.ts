import { canSeeProject } from '../../auth/principal';
import { compareCommit as compare, type CompareQuery } from '../../domain/compare/compare-commit';
import { NO_PAIRS, type PairPage } from '../../domain/compare/pair-listing';
import { verdictOf } from '../../domain/compare/comparison-json';
import { ApiError } from '../../lib/problem';
import type { AppContext, AppRouteHandler } from '../../lib/types';
import type { CompareCommit, GetVerdict } from './compare.routes';

type ComparisonParameters = { project: string; batch: string; reference?: string; reference_batch?: string; metrics?: string[] };

function compareQuery(c: AppContext, id: string, query: ComparisonParameters, page: PairPage): CompareQuery {
  return {
    projectId: query.project,
    commit: id,
    batch: query.batch,
    reference: query.reference,
    referenceBatch: query.reference_batch,
    metrics: query.metrics,
    page,
    canSeeProject: (project) => canSeeProject(c.var.caller, project),
    webAppUrl: c.var.config.webAppUrl,
  };
}

export const compareCommit: AppRouteHandler<CompareCommit> = async (c) => {
  const query = c.req.valid('query');
  const page = { pairs: query.pairs, offset: query.offset, limit: query.limit };
  return c.json(await compare(c.var.db, compareQuery(c, c.req.valid('param').id, query, page)), 200);
};

export const getVerdict: AppRouteHandler<GetVerdict> = async (c) => {
  const query = c.req.valid('query');
  const verdict = verdictOf(await compare(c.var.db, compareQuery(c, c.req.valid('param').id, query, NO_PAIRS)));
  if (query.fail_on.includes(verdict.verdict)) {
    throw new ApiError(409, `Verdict: ${verdict.verdict}. ${verdict.reasons.join('; ')}.`, { extensions: { verdict } });
  }
  return c.json(verdict, 200);
};
