/**
 * The app as a Node process serves it (the Node entry, tests, scripts): rate limits in memory,
 * client addresses from the socket — or from trusted proxies' `X-Forwarded-For`.
 */
import type { IncomingMessage } from 'node:http';
import { buildApp } from './app';
import { failedAuthGuard } from './auth/failed-auth-guard';
import type { AppConfig, RuntimeDefaults } from './config';
import type { Db } from './db/client';
import { clientAddress } from './lib/client-address';
import { consoleLogger } from './lib/logger';
import { memoryRateLimiter, memoryRateLimiters } from './lib/rate-limit';
import type { Services } from './lib/types';

/** On a laptop the embedded default is a local tool: open, with a warning at start (see warnWhenOpen). */
export const NODE_DEFAULTS: RuntimeDefaults = { authMode: 'open' };

export function nodeApp(db: Db, config: AppConfig, extra: Partial<Pick<Services, 'gitlabQueue' | 'logger'>> = {}) {
  const shared = {
    db,
    config,
    rateLimiters: memoryRateLimiters(config.rateLimits),
    failedAuthGuard: failedAuthGuard(memoryRateLimiter(config.rateLimits.authFailuresPerMinute)),
    logger: consoleLogger,
    ...extra,
  };
  return buildApp({
    services(c) {
      // @hono/node-server passes the Node request as `c.env.incoming` (absent under app.request in tests).
      const socket = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
      const address = clientAddress(socket?.remoteAddress, c.req.header('x-forwarded-for'), config.trustedProxyHops);
      return { services: { ...shared, clientAddress: address } };
    },
  });
}
