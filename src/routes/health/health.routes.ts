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
    circuit: z.enum(['closed', 'open', 'half-open']).openapi({ description: 'Open: the database is considered down; uploads are spooled.' }),
    bindings: z.record(z.string(), z.boolean()).openapi({ description: 'The queues, buckets and spool the deployment needs, and whether each is there.' }),
    spool_depth: z.number().int().nullable().openapi({ description: 'Uploads waiting to be written (null where the runtime can’t tell).' }),
  })
  .openapi('Health', {
    example: {
      status: 'ok',
      auth_mode: 'write',
      database: { ok: true, latency_ms: 1.4, schema: { applied: '0004_ingestion_receipts', expected: '0004_ingestion_receipts' } },
      circuit: 'closed',
      bindings: { INGEST_JOBS: true, GITLAB_JOBS: true, MAINTENANCE_JOBS: true, BACKUPS: true },
      spool_depth: null,
    },
  });

export const getHealth = createRoute({
  method: 'get',
  path: '/api/v1/health',
  operationId: 'getHealth',
  tags: ['Operations'],
  summary: 'Whether the service can serve: database reachable and migrated, bindings present',
  description: 'Public, for load balancers and monitors. 503 with the same body when degraded.',
  responses: {
    200: jsonContent(healthSchema, 'Healthy.'),
    ...errorResponses,
    503: jsonContent(healthSchema, 'Degraded: the database or a binding is missing.'),
  },
});

const versionSchema = z
  .object({
    version: z.string().openapi({ description: 'The package version.' }),
    git_sha: z.string().nullable(),
    schema_version: z.string().openapi({ description: 'The latest migration this code expects.' }),
  })
  .openapi('Version', { example: { version: '0.1.0', git_sha: '48b24841e38e16d6f0a1c2d3e4f5a6b7c8d9e0f1', schema_version: '0004_ingestion_receipts' } });

export const getVersion = createRoute({
  method: 'get',
  path: '/api/v1/version',
  operationId: 'getVersion',
  tags: ['Operations'],
  summary: 'What is deployed: package version, git commit, database schema',
  description: 'Public. `git_sha` is null unless the deployment knows it (GIT_SHA, or a git checkout on Node).',
  responses: { 200: jsonContent(versionSchema, 'The versions.'), ...errorResponses },
});

/** Public: monitors call them without credentials. */
export const healthRoutes = [getHealth, getVersion];

export type GetHealth = typeof getHealth;
export type GetVersion = typeof getVersion;
