import { createRoute, z } from '@hono/zod-openapi';
import { projectId } from '../../domain/fields';
import { errorResponses, jsonContent } from '../schemas';

const expiredCommitSchema = z
  .object({ projectId: z.string(), hexsha: z.string(), branch: z.string().nullable(), outputs: z.number().int() })
  .openapi('ExpiredCommit', { example: { projectId: 'group/repo', hexsha: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1', branch: 'feature/old', outputs: 40 } });

export const previewRetention = createRoute({
  method: 'get',
  path: '/api/v1/retention/preview',
  operationId: 'previewRetention',
  tags: ['Maintenance'],
  summary: 'Dry run of the retention policy: the commits whose outputs the next clean-up marks deleted',
  description: 'Follows qaboard.yaml `storage.garbage.after`; the reference branch, protected refs and milestones are kept.',
  request: { query: z.object({ project: projectId() }) },
  responses: { 200: jsonContent(z.array(expiredCommitSchema), 'Commits that would be cleaned.'), ...errorResponses },
});

export type PreviewRetention = typeof previewRetention;
