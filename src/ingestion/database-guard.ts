/**
 * While the circuit is open (the database is known to be down), requests answer 503 at once
 * instead of each waiting for a connection timeout; the outcome of every request that used the
 * database feeds the circuit. Uploads are exempt: the ingestion service spools them instead.
 */
import type { MiddlewareHandler } from 'hono';
import { databaseFailure } from '../lib/database-failure';
import { serviceUnavailable } from '../lib/problem';
import type { RouteMatcher } from '../lib/route-matcher';
import { routingPath } from '../lib/routing-path';
import type { AppBindings } from '../lib/types';

export const guardDatabase =
  (exempt: RouteMatcher): MiddlewareHandler<AppBindings> =>
  async (c, next) => {
    if (exempt(c.req.method, routingPath(c.req.raw))) return next();
    const circuit = c.get('databaseCircuit');
    if (!circuit.allows()) throw serviceUnavailable('The database is unavailable; retry later.', circuit.retryAfterSeconds());
    await next();
    if (databaseFailure(c.error)?.unavailable) circuit.recordFailure();
    else circuit.recordSuccess();
  };
