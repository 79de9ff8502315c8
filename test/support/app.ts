import { parseConfig } from '../../src/config';
import type { Db } from '../../src/db/client';
import type { LogLevel, LogRecord, Logger } from '../../src/lib/logger';
import { NODE_DEFAULTS, nodeApp, type NodeAppOptions } from '../../src/node-app';

/** Collects log records instead of printing them: tests stay quiet and can assert what was logged. */
export function memoryLogger(): Logger & { records: (LogRecord & { level: LogLevel })[] } {
  const records: (LogRecord & { level: LogLevel })[] = [];
  return { records, log: (level, record) => void records.push({ level, ...record }) };
}

/**
 * The app as the Node entry builds it, on a test database; `env` as the process environment would
 * give it; `extra` adds services (a GitLab queue, a logger to inspect).
 */
export function testApp(db: Db, env: Record<string, string> = {}, extra: Pick<NodeAppOptions, 'gitlabQueue' | 'runRequestQueue' | 'verdictQueue' | 'logger' | 'artifactsFolder'> = {}) {
  return nodeApp(db, parseConfig(env, NODE_DEFAULTS), { logger: memoryLogger(), ...extra });
}

export type TestApp = ReturnType<typeof testApp>;

export function postJson(app: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
