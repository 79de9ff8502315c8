/**
 * Benchmark (not a test): how fast the GitLab webhook answers while GitLab itself is slow.
 *
 *   npm run bench:webhook -- [--requests 200] [--gitlab-delay-ms 2000]
 *
 * The Node app (embedded PGlite, in-process queue) behind a real HTTP server; a fake GitLab that
 * takes `--gitlab-delay-ms` per call. Pushes are posted one after another; the figures are the
 * webhook's response times, while the queue works through the pushes in the background.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { parseConfig } from '../src/config';
import { connectNodeDatabase } from '../src/db/connect-node';
import { inProcessGitLabQueue } from '../src/gitlab/in-process-gitlab-queue';
import { quietLogger } from '../src/lib/logger';
import { NODE_DEFAULTS, nodeApp } from '../src/node-app';
import { startFakeGitLab } from '../test/support/fake-gitlab';
import { ispPipelineRepository, pushEventBody } from '../test/support/gitlab-fixtures';

const { values: args } = parseArgs({
  options: { requests: { type: 'string', default: '200' }, 'gitlab-delay-ms': { type: 'string', default: '2000' } },
});
const REQUESTS = Number(args.requests);
const SECRET = 'bench-secret';

const gitlab = await startFakeGitLab([ispPipelineRepository()]);
gitlab.delayMs = Number(args['gitlab-delay-ms']);
const database = await connectNodeDatabase({ kind: 'pglite' });
const config = parseConfig(
  { GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token, GITLAB_WEBHOOK_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '1000000' },
  NODE_DEFAULTS,
);
const gitlabQueue = inProcessGitLabQueue(database.db, config.gitlab!);
const server = serve({ fetch: nodeApp(database.db, config, { gitlabQueue, logger: quietLogger }).fetch, port: 0, hostname: '127.0.0.1' });
await once(server, 'listening');
const port = (server.address() as AddressInfo).port;

const agent = new http.Agent({ keepAlive: true });
const body = JSON.stringify(pushEventBody());
function postWebhook(): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: '/webhook/gitlab', method: 'POST', agent, headers: {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-gitlab-token': SECRET, 'x-gitlab-event': 'Push Hook',
      } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode!));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const samples: number[] = [];
for (let i = 0; i < REQUESTS; i++) {
  const started = performance.now();
  const status = await postWebhook();
  samples.push(performance.now() - started);
  if (status !== 202) throw new Error(`webhook answered ${status}`);
}
samples.sort((a, b) => a - b);
const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!.toFixed(1);
const p95 = Number(at(95));
console.log(`POST /webhook/gitlab × ${REQUESTS}, GitLab answering in ${gitlab.delayMs} ms per call:`);
console.log(`  p50 ${at(50)} ms  p95 ${at(95)} ms  p99 ${at(99)} ms  (target p95 < 50 ms: ${p95 < 50 ? 'OK' : 'MISSED'})`);
process.exit(0); // the queued pushes are still waiting on the slow GitLab: not part of the measure
