import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, jsonContent, notFoundResponse } from '../schemas';

const stateSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'written', 'failed']).openapi({ description: '`failed`: written, except the uploads `failed` lists.' }),
    total: z.number().int().nullable().openapi({ description: 'Uploads under the receipt (null while none is written yet).' }),
    written: z.number().int(),
    failed: z.array(z.object({ item: z.number().int(), error: z.string() })),
  })
  .openapi('Ingestion', {
    example: { id: '0192f4a2-7c3e-7b1a-9d2e-5f6a7b8c9d0e', status: 'written', total: 1000, written: 1000, failed: [] },
  });

export const getIngestion = createRoute({
  method: 'get',
  path: '/api/v1/ingestions/{id}',
  operationId: 'getIngestion',
  tags: ['Ingestion (qa CLI)'],
  summary: 'What became of uploads acknowledged with a receipt (202)',
  description:
    '`queued` until every upload under the receipt is written; `failed` lists the uploads the database refused, with why. ' +
    'A receipt of a project the caller can not see answers as an unknown one: `queued` while it could still be in a queue (7 days), then 404.',
  request: { params: z.object({ id: z.uuid().openapi({ example: '0192f4a2-7c3e-7b1a-9d2e-5f6a7b8c9d0e' }) }) },
  responses: { 200: jsonContent(stateSchema, 'The state of the uploads.'), ...errorResponses, ...notFoundResponse },
});

export type GetIngestion = typeof getIngestion;
