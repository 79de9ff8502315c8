import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES } from '../../auth/principal';
import { errorResponses, jsonContent, notFoundResponse, tooLargeResponse } from '../schemas';

const tags = ['API tokens (admin)'];

const tokenInfoSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    project_prefix: z.string().nullable().openapi({ description: 'Only projects equal to it or under it (`group/repo` → `group/repo/sub`).' }),
    created_at: z.string().openapi({ format: 'date-time' }),
    revoked_at: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('ApiToken');

const newTokenSchema = z
  .object({
    name: z.string().min(1).max(200).openapi({ example: 'ci-runner group/repo' }),
    scopes: z.array(z.enum(SCOPES)).min(1).max(3).openapi({ description: '`admin` implies `write`, which implies `read`.' }),
    project_prefix: z.string().min(1).max(512).nullish().openapi({ example: 'group/repo' }),
  })
  .openapi('NewApiToken');

export const createToken = createRoute({
  method: 'post',
  path: '/api/v1/tokens',
  tags,
  summary: 'Create an API token',
  description: 'The plaintext `token` is in this response only: it is stored as a SHA-256 digest.',
  request: { body: { required: true, content: { 'application/json': { schema: newTokenSchema } } } },
  responses: {
    201: jsonContent(tokenInfoSchema.extend({ token: z.string().openapi({ example: 'qab_…' }) }).openapi('CreatedApiToken'), 'The token.'),
    ...errorResponses,
    ...tooLargeResponse,
  },
});

export const listTokens = createRoute({
  method: 'get',
  path: '/api/v1/tokens',
  tags,
  summary: 'Every API token, revoked ones included (never the plaintext)',
  responses: { 200: jsonContent(z.array(tokenInfoSchema), 'The tokens.'), ...errorResponses },
});

export const revokeToken = createRoute({
  method: 'delete',
  path: '/api/v1/tokens/{id}',
  tags,
  summary: 'Revoke an API token (immediately; revoking twice is harmless)',
  request: { params: z.object({ id: z.coerce.number().int().positive().max(2147483647).openapi({ type: 'integer' }) }) },
  responses: { 200: jsonContent(tokenInfoSchema, 'The revoked token.'), ...errorResponses, ...notFoundResponse },
});

export type CreateToken = typeof createToken;
export type ListTokens = typeof listTokens;
export type RevokeToken = typeof revokeToken;
