import { findOutput, deleteOutput as removeOutput, updateOutput as patchOutput } from '../../domain/outputs/output-writes';
import { readOutput } from '../../domain/read/outputs';
import type { AppRouteHandler } from '../../lib/types';
import { queueFileDeletions } from '../../maintenance/file-deletions';
import { submitRunRequest } from '../run-requests/submit-run-request';
import { visibleProjects } from '../visibility';
import type { DeleteOutput, GetOutput, RedoOutput, UpdateOutput } from './outputs.routes';

export const getOutput: AppRouteHandler<GetOutput> = async (c) => c.json(await readOutput(c.var.db, c.req.valid('param').id, visibleProjects(c), c.var.config.files.defaultMode), 200);

export const updateOutput: AppRouteHandler<UpdateOutput> = async (c) =>
  c.json(await patchOutput(c.var.db, c.req.valid('param').id, c.req.valid('json'), visibleProjects(c)), 200);

export const deleteOutput: AppRouteHandler<DeleteOutput> = async (c) => {
  const { fileDeletions, ...deleted } = await removeOutput(c.var.db, c.req.valid('param').id, c.req.valid('query').soft, visibleProjects(c));
  await queueFileDeletions(c.var.fileDeletions, fileDeletions);
  return c.json(deleted, 200);
};

export const redoOutput: AppRouteHandler<RedoOutput> = async (c) => {
  const output = await findOutput(c.var.db, c.req.valid('param').id, visibleProjects(c));
  const request = await submitRunRequest(c, {
    kind: 'redo-output',
    projectId: output.projectId,
    commitId: output.ciCommitId,
    batch: { label: output.batchLabel, create: false },
    parameters: { output_id: output.id },
  });
  return c.json(request, 202);
};
