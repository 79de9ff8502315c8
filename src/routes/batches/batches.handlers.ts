import * as batches from '../../domain/batches/batch-writes';
import type { AppRouteHandler } from '../../lib/types';
import { queueFileDeletions } from '../../maintenance/file-deletions';
import { cancelPipelines, submitRunRequest } from '../run-requests/submit-run-request';
import { visibleProjects } from '../visibility';
import type { DeleteBatch, MoveBatch, RedoBatch, RenameBatch, StopBatch } from './batches.routes';

export const stopBatch: AppRouteHandler<StopBatch> = async (c) => {
  const batch = await batches.findBatch(c.var.db, c.req.valid('json').id, visibleProjects(c));
  const { stopped_outputs, cancelled } = await batches.stopBatch(c.var.db, batch);
  await cancelPipelines(c, cancelled);
  return c.json({ status: 'OK' as const, stopped_outputs, cancelled_run_requests: cancelled.map((r) => r.id) }, 200);
};

export const redoBatch: AppRouteHandler<RedoBatch> = async (c) => {
  const { id, only_failed, only_deleted } = c.req.valid('json');
  const batch = await batches.findBatch(c.var.db, id, visibleProjects(c));
  const request = await submitRunRequest(c, {
    kind: 'redo-batch',
    projectId: batch.projectId,
    commitId: batch.ciCommitId,
    batch: { label: batch.label, create: false },
    parameters: { only_failed, only_deleted },
  });
  return c.json(request, 202);
};

export const renameBatch: AppRouteHandler<RenameBatch> = async (c) => {
  const { id, label } = c.req.valid('json');
  return c.json(await batches.renameBatch(c.var.db, await batches.findBatch(c.var.db, id, visibleProjects(c)), label), 200);
};

export const moveBatch: AppRouteHandler<MoveBatch> = async (c) => {
  const { id, label, filter } = c.req.valid('json');
  const batch = await batches.findBatch(c.var.db, id, visibleProjects(c));
  const { fileMoves, ...moved } = await batches.moveOutputs(c.var.db, batch, label, filter, c.var.config.files.defaultMode);
  await queueFileDeletions(c.var.fileDeletions, fileMoves);
  return c.json(moved, 200);
};

export const deleteBatch: AppRouteHandler<DeleteBatch> = async (c) => {
  const { soft, only_failed, filter } = c.req.valid('query');
  const batch = await batches.findBatch(c.var.db, c.req.valid('param').id, visibleProjects(c));
  const { cancelled, fileDeletions, ...deleted } = await batches.deleteBatchOutputs(c.var.db, batch, { soft, onlyFailed: only_failed, fileFilter: filter });
  await cancelPipelines(c, cancelled);
  await queueFileDeletions(c.var.fileDeletions, fileDeletions);
  return c.json({ ...deleted, cancelled_run_requests: cancelled.map((r) => r.id) }, 200);
};
