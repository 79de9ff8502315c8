import { envelopeSha } from '../../domain/ingest/envelope';
import { ingestBatch } from '../../domain/ingest/ingest-batch';
import { ingestCommit } from '../../domain/ingest/ingest-commit';
import { ingestOutput } from '../../domain/ingest/ingest-output';
import { invalidField } from '../../lib/problem';
import type { AppRouteHandler } from '../../lib/types';
import type { PostBatch, PostCommit, PostCommitById, PostOutput } from './ingest.routes';

export const postOutput: AppRouteHandler<PostOutput> = async (c) =>
  c.json(await ingestOutput(c.var.db, c.req.valid('json')), 200);

export const postBatch: AppRouteHandler<PostBatch> = async (c) =>
  c.json(await ingestBatch(c.var.db, c.req.valid('json')), 200);

export const postCommit: AppRouteHandler<PostCommit> = async (c) => {
  const upload = c.req.valid('json');
  const sha = envelopeSha(upload);
  if (!sha) throw invalidField('commit_sha', 'commit_sha (or git_commit_sha) is required');
  return c.json(await ingestCommit(c.var.db, upload, sha), 200);
};

export const postCommitById: AppRouteHandler<PostCommitById> = async (c) =>
  c.json(await ingestCommit(c.var.db, c.req.valid('json'), c.req.valid('param').id.toLowerCase()), 200);
