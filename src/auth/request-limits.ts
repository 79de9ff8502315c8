/**
 * Which requests are rate limited, and by what key. Ingestion has its own limiter — none by default:
 * the qa CLI doesn't retry a 429, so a throttled upload is a lost result, and a CI farm legitimately
 * sends thousands a minute. Everything else is limited per caller: the token, else the client address.
 */
import type { MiddlewareHandler } from 'hono';
import { addressKey } from '../lib/client-address';
import { enforceRateLimit } from '../lib/rate-limit';
import type { RouteMatcher } from '../lib/route-matcher';
import { routingPath } from '../lib/routing-path';
import type { AppBindings } from '../lib/types';

export const limitRequests =
  (isIngestion: RouteMatcher): MiddlewareHandler<AppBindings> =>
  async (c, next) => {
    const rateLimiters = c.get('rateLimiters');
    const limiter = isIngestion(c.req.method, routingPath(c.req.raw)) ? rateLimiters.ingestion : rateLimiters.requests;
    if (!limiter) return next();
    const caller = c.get('caller');
    await enforceRateLimit(limiter, caller.id === 'anonymous' ? `address:${addressKey(c.get('clientAddress'))}` : caller.id);
    return next();
  };
