/**
 * Runs in Node before the workerd tests: the Worker's static assets (wrangler builds them itself,
 * vitest doesn't), a database, the WebSocket proxy the Neon driver reaches it through, and a fake GitLab.
 */
import type { TestProject } from 'vitest/node';
import '../provided-context';
import { startNeonWsProxy } from '../../scripts/neon-ws-proxy';
import { writeWorkerAssets } from '../../scripts/worker-assets';
import { newSigningKey } from '../support/ci-id-tokens';
import { startFakeGitLab } from '../support/fake-gitlab';
import { gateRepository, ispPipelineRepository } from '../support/gitlab-fixtures';
import { guardMiniflareHyperdriveProxy } from '../support/hyperdrive-proxy-guard';
import { serveTestDatabase } from '../support/served-database';

export default async function setup(project: TestProject) {
  guardMiniflareHyperdriveProxy(); // before the pool starts miniflare in this process
  writeWorkerAssets();
  const database = await serveTestDatabase();
  const proxy = await startNeonWsProxy();
  const countingProxy = await startNeonWsProxy();
  project.provide('workerDatabaseUrl', database.url);
  project.provide('workerDatabaseEngine', database.engine);
  const hyperdriveUrl = new URL(database.url);
  hyperdriveUrl.password ||= 'unused';
  project.provide('workerHyperdriveUrl', hyperdriveUrl.toString());
  project.provide('neonWsProxy', proxy.url);
  project.provide('countingNeonProxy', countingProxy.url);
  const gitlab = await startFakeGitLab([ispPipelineRepository(), gateRepository()]);
  project.provide('fakeGitLabUrl', gitlab.url);
  project.provide('fakeGitLabToken', gitlab.token);
  project.provide('fakeGitLabOAuthClient', gitlab.identity.client);
  // Sign-in inside workerd: a GitLab user already signed in to the fake GitLab, and its CI signing key.
  const signingKey = await newSigningKey('worker-ci-key');
  gitlab.identity.signingKeys.push(signingKey);
  project.provide('ciSigningKey', JSON.stringify(signingKey));
  gitlab.identity.users.set('worker-dev', {
    id: 501, username: 'worker-dev', name: 'Worker Dev', email: 'dev@example.com', avatar_url: null, state: 'active',
    memberships: { 'worker/oauth': 30 },
  });
  gitlab.identity.signedInAs = 'worker-dev';
  console.log(`${project.name} tests on ${database.engine}${project.name === 'worker' ? ` through the Neon driver via ${proxy.url}` : ' through a local Hyperdrive binding'}`);
  return async () => {
    await gitlab.close();
    await proxy.close();
    await countingProxy.close();
    await database.close();
  };
}
