/** Runs in Node before the workerd tests: a database and the WebSocket proxy the Neon driver reaches it through. */
import type { TestProject } from 'vitest/node';
import '../provided-context';
import { startNeonWsProxy } from '../../scripts/neon-ws-proxy';
import { serveTestDatabase } from '../support/served-database';

export default async function setup(project: TestProject) {
  const database = await serveTestDatabase();
  const proxy = await startNeonWsProxy();
  project.provide('workerDatabaseUrl', database.url);
  project.provide('neonWsProxy', proxy.url);
  console.log(`worker tests on ${database.engine} through the Neon driver via ${proxy.url}`);
  return async () => {
    await proxy.close();
    await database.close();
  };
}
