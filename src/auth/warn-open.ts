import type { AppConfig } from '../config';

/** Open mode is the embedded default; on a network it lets anyone write or delete results. Say so at start. */
export function warnWhenOpen(config: AppConfig) {
  if (config.authMode !== 'open') return;
  console.warn(
    'AUTH_MODE=open: anyone who can reach this API may write results. Set AUTH_MODE=write (or all) and ADMIN_TOKEN when it is reachable from a network.',
  );
}
