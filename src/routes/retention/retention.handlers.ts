import { expiredCommits } from '../../maintenance/retention';
import type { AppRouteHandler } from '../../lib/types';
import type { PreviewRetention } from './retention.routes';

export const previewRetention: AppRouteHandler<PreviewRetention> = async (c) =>
  c.json(await expiredCommits(c.var.db, new Date(), c.req.valid('query').project), 200);
