import { createRoute, z } from '@hono/zod-openapi';
import { projectId } from '../../domain/fields';
import { milestoneSchema, milestonesSchema } from '../../domain/milestones/milestones';
import { boundedText } from '../../lib/fields';
import { errorResponses, jsonBody, jsonContent, notFoundResponse } from '../schemas';

const tags = ['Milestones'];
const key = boundedText(4096).openapi({ description: '`<project>/<hexsha>/<batch label>`, as the web app builds it.', example: 'group/repo/48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1/default' });
const answer = { 200: jsonContent(milestonesSchema, "The project's milestones, after the change."), ...errorResponses, ...notFoundResponse };

export const listMilestones = createRoute({
  method: 'get',
  path: '/api/v1/project/milestones',
  operationId: 'listMilestones',
  tags,
  summary: "A project's milestones",
  description: 'Also in the project data (`GET /api/v1/projects`, `data.milestones`), where the web app reads them.',
  request: { query: z.object({ project: projectId() }) },
  responses: { 200: jsonContent(milestonesSchema, "The project's milestones."), ...errorResponses, ...notFoundResponse },
});

export const saveMilestone = createRoute({
  method: 'post',
  path: '/api/v1/project/milestones',
  operationId: 'saveMilestone',
  tags,
  summary: 'Save or delete a milestone',
  description:
    'As the web app sends it: `{project, key, milestone, delete: "false"}` saves (replaces) the milestone, `{project, key, delete: "true"}` ' +
    'deletes it. A milestone protects its commit from batch deletion and from retention. The web app saves a changed milestone with ' +
    '"delete" then "save" sent back to back: a delete arriving within 2 s of a save of the same key is ignored, so the save wins in ' +
    'whichever order they are handled.',
  request: {
    body: jsonBody(
      z
        .object({
          project: projectId(),
          key,
          milestone: milestoneSchema.optional(),
          delete: z.union([z.boolean(), z.enum(['true', 'false'])]).default(false).transform((value) => value === true || value === 'true'),
        })
        .superRefine((body, ctx) => {
          if (!body.delete && !body.milestone) ctx.addIssue({ code: 'custom', path: ['milestone'], message: 'is required to save a milestone' });
        })
        .openapi('MilestoneChange', {
          example: {
            project: 'group/repo',
            key: 'group/repo/48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1/default',
            milestone: { label: 'v2.3 release', notes: '', commit: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1', branch: 'master', batch: 'default', filter: '', date: '2026-11-28T19:53:32.117Z' },
            delete: 'false',
          },
        }),
    ),
  },
  responses: answer,
});

export const deleteMilestone = createRoute({
  method: 'delete',
  path: '/api/v1/project/milestones',
  operationId: 'deleteMilestone',
  tags,
  summary: 'Delete a milestone',
  description: 'Deleting a milestone that does not exist changes nothing.',
  request: { body: jsonBody(z.object({ project: projectId(), key }).openapi('MilestoneRef', { example: { project: 'group/repo', key: 'group/repo/48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1/default' } })) },
  responses: answer,
});

export type ListMilestones = typeof listMilestones;
export type SaveMilestone = typeof saveMilestone;
export type DeleteMilestone = typeof deleteMilestone;
