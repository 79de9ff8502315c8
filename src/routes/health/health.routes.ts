import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, jsonContent } from '../schemas';

const healthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    auth_mode: z.enum(['open', 'write', 'all']).openapi({ description: 'Who needs a token: nobody, writers, everyone.' }),
    database: z.object({
      ok: z.boolean(),
      latency_ms: z.number().openapi({ description: 'One round trip to the database.' }),
      schema: z.object({ applied: z.string().nullable(), expected: z.string() }),
      error: z.string().optional(),
    }),
  })
  .openapi('Health', {
    example: {
      status: 'ok',
      auth_mode: 'write',
      database: { ok: true, latency_ms: 1.4, schema: { applied: '0003_per_project_inputs_and_idempotency_leases', expected: '0003_per_project_inputs_and_idempotency_leases' } },
    },
  });

export const getHealth = createRoute({
  method: 'get',
  path: '/api/v1/health',
  operationId: 'getHealth',
  tags: ['Operations'],
  summary: 'Whether the service can serve: database reachable and migrated',
  description: 'Public, for load balancers and monitors. 503 with the same body when degraded.',
  responses: {
    200: jsonContent(healthSchema, 'Healthy.'),
    ...errorResponses,
    503: jsonContent(healthSchema, 'Degraded: `database` says why.'),
  },
});

/** Public: monitors call it without credentials. */
export const healthRoutes = [getHealth];

export type GetHealth = typeof getHealth;
