import { createRoute, z } from '@hono/zod-openapi';
import { newTokenSchema, tokenInfoSchema } from '../../auth/tokens';
import { errorResponses, idParam, jsonContent, notFoundResponse, problemResponseSpec, tooLargeResponse } from '../schemas';

const tags = ['API tokens (admin)'];
const restrictedNote =
  'An admin token restricted to a project prefix sees and manages only the tokens within its prefix.';

export const createToken = createRoute({
  method: 'post',
  path: '/api/v1/tokens',
  operationId: 'createToken',
  tags,
  summary: 'Create an API token',
  description: `The plaintext \`token\` is in this response only: it is stored as a SHA-256 digest. A token can't be wider than its creator's (scopes, prefix). ${restrictedNote}`,
  request: { body: { required: true, content: { 'application/json': { schema: newTokenSchema } } } },
  responses: {
    201: jsonContent(
      tokenInfoSchema
        .extend({ token: z.string().openapi({ example: 'qab_3q2-7wEjZg5N0b4sVf7cX1mH9kLpR2tY6uI8oA0eD4w' }) })
        .openapi('CreatedApiToken'),
      'The token.',
    ),
    ...errorResponses,
    403: problemResponseSpec('The token would be wider than the caller (a scope or a project prefix it lacks).'),
    ...tooLargeResponse,
  },
});

export const listTokens = createRoute({
  method: 'get',
  path: '/api/v1/tokens',
  operationId: 'listTokens',
  tags,
  summary: 'Every API token, revoked ones included (never the plaintext)',
  description: restrictedNote,
  responses: { 200: jsonContent(z.array(tokenInfoSchema), 'The tokens.'), ...errorResponses },
});

export const revokeToken = createRoute({
  method: 'delete',
  path: '/api/v1/tokens/{id}',
  operationId: 'revokeToken',
  tags,
  summary: 'Revoke an API token (immediately; revoking twice is harmless)',
  description: restrictedNote,
  request: { params: z.object({ id: idParam }) },
  responses: { 200: jsonContent(tokenInfoSchema, 'The revoked token.'), ...errorResponses, ...notFoundResponse },
});

/** Token management needs the `admin` scope. */
export const tokenRoutes = [createToken, listTokens, revokeToken];

export type CreateToken = typeof createToken;
export type ListTokens = typeof listTokens;
export type RevokeToken = typeof revokeToken;
