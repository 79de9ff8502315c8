import * as runRequests from '../../domain/run-requests/run-requests';
import type { AppRouteHandler } from '../../lib/types';
import { visibleProjects } from '../visibility';
import type { CancelRunRequest, GetRunRequest, ListRunRequests } from './run-requests.routes';
import { cancelPipelines } from './submit-run-request';

export const listRunRequests: AppRouteHandler<ListRunRequests> = async (c) => {
  const { project, commit, status, limit } = c.req.valid('query');
  return c.json(await runRequests.listRunRequests(c.var.db, { projectId: project, commit, status, limit }), 200);
};

export const getRunRequest: AppRouteHandler<GetRunRequest> = async (c) =>
  c.json(await runRequests.readRunRequest(c.var.db, c.req.valid('param').id, visibleProjects(c)), 200);

export const cancelRunRequest: AppRouteHandler<CancelRunRequest> = async (c) => {
  const request = await runRequests.cancelRunRequest(c.var.db, c.req.valid('param').id, visibleProjects(c));
  await cancelPipelines(c, [request]);
  return c.json(request, 200);
};
