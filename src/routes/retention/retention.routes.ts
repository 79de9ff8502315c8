import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, jsonContent } from '../schemas';

const expiredCommitSchema = z
  .object({ projectId: z.string(), hexsha: z.string(), branch: z.string().nullable(), outputs: z.number().int() })
  .openapi('ExpiredCommit');

export const previewRetention = createRoute({
  method: 'get',
  path: '/api/v1/retention/preview',
  tags: ['Maintenance'],
  summary: 'Dry run of the retention policy: the commits whose outputs the next clean-up marks deleted',
  description: 'Follows qaboard.yaml `storage.garbage.after`; the reference branch, protected refs and milestones are kept.',
  request: { query: z.object({ project: z.string().min(1).max(512).openapi({ example: 'group/repo' }) }) },
  responses: { 200: jsonContent(z.array(expiredCommitSchema), 'Commits that would be cleaned.'), ...errorResponses },
});

export type PreviewRetention = typeof previewRetention;
