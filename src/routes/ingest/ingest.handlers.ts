import { envelopeSha, type CommitEnvelope } from '../../domain/ingest/envelope';
import { ingestBatch } from '../../domain/ingest/ingest-batch';
import { ingestCommit } from '../../domain/ingest/ingest-commit';
import { ingestOutput } from '../../domain/ingest/ingest-output';
import type { Ingested } from '../../domain/ingest/upload-commit';
import { needsBackfill } from '../../gitlab/backfill-commit';
import { invalidField } from '../../lib/problem';
import type { AppContext, AppRouteHandler } from '../../lib/types';
import type { PostBatch, PostCommit, PostCommitById, PostOutput } from './ingest.routes';

/**
 * A commit first seen through an upload that didn't describe it gets its metadata from GitLab,
 * in the background. The upload succeeds whether or not that can be queued.
 */
async function requestBackfill(c: AppContext, upload: CommitEnvelope, hexsha: string, { commitCreated }: Ingested<unknown>) {
  if (!commitCreated || !c.var.gitlabQueue || !needsBackfill(upload)) return;
  try {
    await c.var.gitlabQueue.send({ type: 'backfill-commit', projectId: upload.project, hexsha });
  } catch (error) {
    c.var.logger.log('error', { request_id: c.var.requestId, backfill_not_queued: String(error) });
  }
}

export const postOutput: AppRouteHandler<PostOutput> = async (c) => {
  const upload = c.req.valid('json');
  const result = await ingestOutput(c.var.db, upload);
  await requestBackfill(c, upload, envelopeSha(upload)!, result);
  return c.json(result.body, 200);
};

export const postBatch: AppRouteHandler<PostBatch> = async (c) => {
  const upload = c.req.valid('json');
  const result = await ingestBatch(c.var.db, upload);
  await requestBackfill(c, upload, envelopeSha(upload)!, result);
  return c.json(result.body, 200);
};

export const postCommit: AppRouteHandler<PostCommit> = async (c) => {
  const upload = c.req.valid('json');
  const sha = envelopeSha(upload);
  if (!sha) throw invalidField('commit_sha', 'commit_sha (or git_commit_sha) is required');
  const result = await ingestCommit(c.var.db, upload, sha);
  await requestBackfill(c, upload, sha, result);
  return c.json(result.body, 200);
};

export const postCommitById: AppRouteHandler<PostCommitById> = async (c) => {
  const upload = c.req.valid('json');
  const sha = c.req.valid('param').id.toLowerCase();
  const result = await ingestCommit(c.var.db, upload, sha);
  await requestBackfill(c, upload, sha, result);
  return c.json(result.body, 200);
};
