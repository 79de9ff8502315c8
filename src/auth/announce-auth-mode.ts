import type { AppConfig } from '../config';
import { consoleLogger, type Logger } from '../lib/logger';

/**
 * Says at start which AUTH_MODE the server runs in (also in `/api/v1/health`). Open mode is the
 * embedded default; on a network it lets anyone write or delete results: warn.
 */
export function announceAuthMode(config: AppConfig, logger: Logger = consoleLogger) {
  if (config.authMode === 'open') {
    logger.log('warn', {
      auth_mode: 'open',
      message: 'AUTH_MODE=open: anyone who can reach this API may write results. Set AUTH_MODE=write (or all) and ADMIN_TOKEN when it is reachable from a network.',
    });
  } else {
    logger.log('info', { auth_mode: config.authMode, admin_token: config.adminToken ? 'set' : 'not set' });
  }
}
