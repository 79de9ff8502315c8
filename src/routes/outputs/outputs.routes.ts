import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, idParam, jsonContent, notFoundResponse, outputSchema } from '../schemas';

export const getOutput = createRoute({
  method: 'get',
  path: '/api/v1/output/{id}',
  operationId: 'getOutput',
  tags: ['Outputs'],
  summary: 'An output',
  description: '`qa wait` polls it while `is_pending`.',
  request: { params: z.object({ id: idParam }) },
  responses: { 200: jsonContent(outputSchema, 'The output.'), ...errorResponses, ...notFoundResponse },
});

export type GetOutput = typeof getOutput;
