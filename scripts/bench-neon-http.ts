/**
 * Latency of a trivial query through the Neon driver's two transports, both through the local proxy
 * (scripts/neon-ws-proxy.ts) to a local Postgres (not a test): prints figures.
 *
 *   npm run bench:neon-http -- [--queries 200] [--base-url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * - `neon()` over HTTP: one `SELECT 1` per fetch; the endpoint keeps its Postgres sessions between requests.
 * - `Pool` over WebSocket as the Worker uses it today: a new pool per request, so each query pays for a
 *   WebSocket, a Postgres session and its authentication (`pool.end()` runs after the clock stops, as in
 *   `waitUntil`).
 * Loopback only: on Neon each extra round trip also crosses the network, so the gap there is wider.
 */
import { parseArgs } from 'node:util';
import { neon, neonConfig, Pool } from '@neondatabase/serverless';
import ws from 'ws';
import { configureNeonForProxy } from '../src/db/connect-neon';
import { ms, percentiles } from './latency';
import { startNeonWsProxy } from './neon-ws-proxy';

const { values: args } = parseArgs({
  options: {
    queries: { type: 'string', default: '200' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const QUERIES = Number(args.queries);
const url = args['base-url'];

const proxy = await startNeonWsProxy();
neonConfig.webSocketConstructor = ws;
configureNeonForProxy(proxy.url);
const sql = neon(url);

async function measure(name: string, query: () => Promise<unknown>) {
  for (let i = 0; i < 10; i++) await query(); // warm-up: JIT, the endpoint's pool
  const samples: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const start = performance.now();
    await query();
    samples.push(performance.now() - start);
  }
  const p = percentiles(samples);
  console.log(`${name.padEnd(46)} p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}`);
}

console.log(`SELECT 1, ${QUERIES} sequential queries each, through ${proxy.url} to ${new URL(url).host}`);
await measure('neon() over HTTP', () => sql`SELECT 1`);
const ending: Promise<void>[] = [];
await measure('Pool over WebSocket, a new pool per query', async () => {
  const pool = new Pool({ connectionString: url });
  await pool.query('SELECT 1');
  ending.push(pool.end());
});
await Promise.all(ending);
await proxy.close();
