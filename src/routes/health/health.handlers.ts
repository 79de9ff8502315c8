import packageJson from '../../../package.json';
import { databaseHealth } from '../../db/health';
import { SCHEMA_VERSION } from '../../db/schema-version';
import type { AppRouteHandler } from '../../lib/types';
import type { GetHealth, GetVersion } from './health.routes';

export const getHealth: AppRouteHandler<GetHealth> = async (c) => {
  const [database, runtime] = await Promise.all([databaseHealth(c.var.db), c.var.runtimeStatus()]);
  const ok = database.ok && Object.values(runtime.bindings).every(Boolean);
  const body = {
    status: ok ? ('ok' as const) : ('degraded' as const),
    auth_mode: c.var.config.authMode,
    database,
    circuit: c.var.databaseCircuit.state,
    bindings: runtime.bindings,
    spool_depth: runtime.spoolDepth ?? null,
  };
  return ok ? c.json(body, 200) : c.json(body, 503);
};

export const getVersion: AppRouteHandler<GetVersion> = async (c) =>
  c.json({ version: packageJson.version, git_sha: (await c.var.runtimeStatus()).gitSha ?? null, schema_version: SCHEMA_VERSION }, 200);
