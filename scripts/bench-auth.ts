/**
 * What each credential adds to a request (not a test): prints figures.
 *
 *   npm run bench:auth -- [--requests 2000] [--base-url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * The app as the Node entry builds it, on a scratch database of the local Postgres (node-postgres),
 * with a fake GitLab for the JWKS and the sign-in. The same cheap read (`GET /api/v1/project`) is
 * timed in process (`app.request`, no HTTP) with: no credential, an API token, a local user's
 * session, a GitLab user's session (memberships cached), and a CI id_token (keys cached).
 * Kinds take turns in rounds, so drift of the machine spreads evenly; the first round warms caches
 * and is not counted. Target: sessions and id_tokens add < 2 ms p50 over an API token.
 */
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config';
import { connectNodeDatabase } from '../src/db/connect-node';
import { quietLogger } from '../src/lib/logger';
import { NODE_DEFAULTS, nodeApp } from '../src/node-app';
import { newSigningKey, signCiIdToken } from '../test/support/ci-id-tokens';
import { createScratchDatabase } from '../test/support/databases';
import { startFakeGitLab } from '../test/support/fake-gitlab';
import { addGitLabUser, browser, createUser, PUBLIC_URL, signInEnv, signInLocally, signInWithGitLab } from '../test/support/sign-in';
import { outputUpload, shaOf } from '../test/support/uploads';
import { ms, percentiles } from './latency';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const REQUESTS = Number(args.requests);
const ROUNDS = 20;
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const PROJECT = 'bench/auth';

const scratch = await createScratchDatabase(args['base-url']);
const database = await connectNodeDatabase({ kind: 'postgres', url: scratch.url, maxConnections: 4 });
const gitlab = await startFakeGitLab([]);
try {
  const signingKey = await newSigningKey('bench-key');
  gitlab.identity.signingKeys.push(signingKey);
  const env = { ...signInEnv(gitlab), AUTH_MODE: 'write', ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: '100000000' };
  const app = nodeApp(database.db, parseConfig(env, NODE_DEFAULTS), { logger: quietLogger });
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const post = (path: string, body: unknown) => app.request(path, { method: 'POST', headers: admin, body: JSON.stringify(body) });
  await post('/api/v1/output/', outputUpload({ project: PROJECT, sha: shaOf(1) }));
  const { token } = (await (await post('/api/v1/tokens', { name: 'bench', scopes: ['read'] })).json()) as { token: string };
  await createUser(database.db, { user_name: 'bench', password: 'bench password', scopes: ['read'] });
  addGitLabUser(gitlab, { username: 'bench', memberships: { [PROJECT]: 30 } });
  const idToken = await signCiIdToken(signingKey, { issuer: gitlab.url, audience: PUBLIC_URL, project_path: PROJECT, expiresIn: 3600 });

  const kinds: Record<string, Record<string, string>> = {
    'no credential': {},
    'API token': { authorization: `Bearer ${token}` },
    'session (local user)': browser(await signInLocally(app, 'bench', 'bench password')),
    'session (GitLab user)': browser(await signInWithGitLab(app, gitlab, 'bench')),
    'CI id_token': { authorization: `Basic ${btoa(`ci:${idToken}`)}` },
  };
  const samples = Object.fromEntries(Object.keys(kinds).map((kind) => [kind, [] as number[]]));
  const perRound = Math.ceil(REQUESTS / ROUNDS);
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [kind, headers] of Object.entries(kinds)) {
      for (let i = 0; i < perRound; i++) {
        const started = performance.now();
        const response = await app.request(`/api/v1/project?project=${encodeURIComponent(PROJECT)}`, { headers });
        const elapsed = performance.now() - started;
        if (response.status !== 200) throw new Error(`${kind}: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
        if (round > 0) samples[kind]!.push(elapsed);
      }
    }
  }
  const tokenP50 = percentiles(samples['API token']!).p50;
  console.log(`GET /api/v1/project, ${perRound * ROUNDS} requests per credential, in process, node-postgres on ${new URL(args['base-url']).host}`);
  for (const [kind, latencies] of Object.entries(samples)) {
    const p = percentiles(latencies);
    const delta = p.p50 - tokenP50;
    console.log(`${kind.padEnd(24)} p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}   p50 vs API token ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} ms`);
  }
  console.log(`JWKS fetched ${gitlab.requests.filter((r) => r.startsWith('/oauth/discovery/keys')).length} time(s); GitLab memberships asked ${gitlab.requests.filter((r) => r.startsWith('/api/v4/projects?')).length} time(s)`);
} finally {
  await gitlab.close();
  await database.close();
  await scratch.drop();
}
