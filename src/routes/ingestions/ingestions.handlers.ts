import { canSeeProject } from '../../auth/principal';
import { ingestionState } from '../../domain/ingest/ingestion-receipts';
import { receiptIssuedAt } from '../../ingestion/receipts';
import { notFound } from '../../lib/problem';
import type { AppRouteHandler } from '../../lib/types';
import type { GetIngestion } from './ingestions.routes';

/** A receipt nothing was written under yet is still queued — for as long as a queue keeps messages. */
const QUEUED_AT_MOST_MS = 7 * 24 * 3600_000;

export const getIngestion: AppRouteHandler<GetIngestion> = async (c) => {
  const { id } = c.req.valid('param');
  const found = await ingestionState(c.var.db, id, (project) => canSeeProject(c.var.caller, project));
  // Another project's receipt answers exactly as one nothing was recorded under: nothing tells them apart.
  const state = found === 'hidden' ? undefined : found;
  const issuedAt = receiptIssuedAt(id);
  if (!state && (issuedAt === undefined || Date.now() - issuedAt > QUEUED_AT_MOST_MS)) {
    throw notFound(`There is no ingestion ${id}.`);
  }
  if (state) return c.json(state, 200);
  return c.json({ id, status: 'queued' as const, total: null, written: 0, failed: [] }, 200);
};
