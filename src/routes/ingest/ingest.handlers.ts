import { envelopeSha } from '../../domain/ingest/envelope';
import type { Outcome } from '../../ingestion/ingestion';
import { invalidField } from '../../lib/problem';
import type { AppContext, AppRouteHandler } from '../../lib/types';
import type { PostBatch, PostBulkOutputs, PostCommit, PostCommitById, PostOutput } from './ingest.routes';

/** 200 with the answer when written, 202 with a receipt when spooled (and why, in the request's log line). */
function answer<T>(c: AppContext, outcome: Outcome<T>) {
  if (outcome.status === 200) return c.json(outcome.body, 200);
  c.set('logDetail', { spooled_because: outcome.cause });
  return c.json(outcome.body, 202);
}

export const postOutput: AppRouteHandler<PostOutput> = async (c) => {
  const upload = c.req.valid('json');
  return answer(c, await c.get('ingestion').output(upload, envelopeSha(upload)!));
};

export const postBatch: AppRouteHandler<PostBatch> = async (c) => {
  const upload = c.req.valid('json');
  return answer(c, await c.get('ingestion').batch(upload, envelopeSha(upload)!));
};

export const postCommit: AppRouteHandler<PostCommit> = async (c) => {
  const upload = c.req.valid('json');
  const sha = envelopeSha(upload);
  if (!sha) throw invalidField('commit_sha', 'commit_sha (or git_commit_sha) is required');
  return answer(c, await c.get('ingestion').commit(upload, sha));
};

export const postCommitById: AppRouteHandler<PostCommitById> = async (c) =>
  answer(c, await c.get('ingestion').commit(c.req.valid('json'), c.req.valid('param').id.toLowerCase()));

export const postBulkOutputs: AppRouteHandler<PostBulkOutputs> = async (c) => c.json(await c.get('ingestion').bulk(c.req.valid('json')), 202);
