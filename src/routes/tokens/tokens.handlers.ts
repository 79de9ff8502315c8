import * as tokens from '../../auth/tokens';
import type { AppRouteHandler } from '../../lib/types';
import type { CreateToken, ListTokens, RevokeToken } from './tokens.routes';

export const createToken: AppRouteHandler<CreateToken> = async (c) =>
  c.json(await tokens.createToken(c.var.db, c.var.caller, c.req.valid('json')), 201);

export const listTokens: AppRouteHandler<ListTokens> = async (c) => c.json(await tokens.listTokens(c.var.db, c.var.caller), 200);

export const revokeToken: AppRouteHandler<RevokeToken> = async (c) =>
  c.json(await tokens.revokeToken(c.var.db, c.var.caller, c.req.valid('param').id), 200);
