/**
 * Runs in Node before the workerd tests: the Worker's static assets (wrangler builds them itself,
 * vitest doesn't), a database, the WebSocket proxy the Neon driver reaches it through, and a fake GitLab.
 */
import type { TestProject } from 'vitest/node';
import '../provided-context';
import { startNeonWsProxy } from '../../scripts/neon-ws-proxy';
import { writeWorkerAssets } from '../../scripts/worker-assets';
import { startFakeGitLab } from '../support/fake-gitlab';
import { ispPipelineRepository } from '../support/gitlab-fixtures';
import { serveTestDatabase } from '../support/served-database';

export default async function setup(project: TestProject) {
  writeWorkerAssets();
  const database = await serveTestDatabase();
  const proxy = await startNeonWsProxy();
  project.provide('workerDatabaseUrl', database.url);
  project.provide('neonWsProxy', proxy.url);
  const gitlab = await startFakeGitLab([ispPipelineRepository()]);
  project.provide('fakeGitLabUrl', gitlab.url);
  project.provide('fakeGitLabToken', gitlab.token);
  console.log(`worker tests on ${database.engine} through the Neon driver via ${proxy.url}`);
  return async () => {
    await gitlab.close();
    await proxy.close();
    await database.close();
  };
}
