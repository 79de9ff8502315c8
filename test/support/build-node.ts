import { execFileSync } from 'node:child_process';

/**
 * vitest globalSetup: bundles the Node entry and scripts once (`npm run build:node`, what `npm start`,
 * `npm run backup` and `npm run restore` run first), so test files running in parallel start the same
 * bundle without rebuilding it under each other's feet.
 */
export default function buildNodeEntries() {
  execFileSync('npm', ['run', '-s', 'build:node'], { stdio: 'inherit' });
}
