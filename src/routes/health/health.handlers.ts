import { databaseHealth } from '../../db/health';
import type { AppRouteHandler } from '../../lib/types';
import type { GetHealth } from './health.routes';

export const getHealth: AppRouteHandler<GetHealth> = async (c) => {
  const database = await databaseHealth(c.var.db);
  const body = { status: database.ok ? ('ok' as const) : ('degraded' as const), auth_mode: c.var.config.authMode, database };
  return database.ok ? c.json(body, 200) : c.json(body, 503);
};
