/**
 * What pieces of the app's upload path cost in workerd — not a test: it prints figures.
 *
 *   npm run bench:workerd-loop -- [--pieces version,upload,write,validate,check-json,statement] [--iterations 1000]
 *                                 [--base-url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * Runs scripts/floor/loop-worker.ts in workerd (miniflare, with wrangler.jsonc's compatibility and
 * bindings, its per-caller request limit raised) on a scratch database through the local Neon proxy:
 * each piece `iterations` times inside one request, after a warm-up, two rounds. A piece's cost is
 * workerd's CPU (`/proc`) over the request, per iteration: no network, no per-request work of
 * workerd's, no profiler. /proc counts in 10 ms ticks: with 1,000 iterations a figure is ±10 µs.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Miniflare, type WorkerOptions } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { connectNodeDatabase } from '../src/db/connect-node';
import { createScratchDatabase } from '../test/support/databases';
import { cpuSeconds, workerdChild } from '../test/support/node-entry';
import { bundleWorker } from './floor/bundle-worker';
import { startNeonWsProxy } from './neon-ws-proxy';

const { values: args } = parseArgs({
  options: {
    pieces: { type: 'string', default: 'version,upload,write,validate,check-json,statement' },
    iterations: { type: 'string', default: '1000' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const PIECES = args.pieces!.split(',');
const ITERATIONS = Number(args.iterations);
const root = path.resolve(import.meta.dirname, '..');
const outfile = path.join(root, '.cache', 'bench-workerd-loop', 'worker.js');

await bundleWorker(path.join(root, 'scripts', 'floor', 'loop-worker.ts'), outfile);

const proxy = await startNeonWsProxy();
const database = await createScratchDatabase(args['base-url']!);
try {
  await (await connectNodeDatabase({ kind: 'postgres', url: database.url })).close(); // migrates
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, 'wrangler.jsonc'));
  const { assets: _, ratelimits, ...options } = workerOptions as WorkerOptions;
  const worker = new Miniflare({
    ...options,
    // The per-caller request limit, 1,200 a minute, would answer the loop's reads 429: raised, still called.
    ratelimits: { ...ratelimits, RATE_LIMITER: { ...ratelimits!.RATE_LIMITER!, simple: { limit: 1_000_000, period: 60 } } },
    modules: true,
    scriptPath: outfile,
    modulesRoot: path.dirname(outfile),
    bindings: { ...workerOptions.bindings, DATABASE_URL: database.url, NEON_WS_PROXY: proxy.url, NEON_TRANSPORT: 'http', AUTH_MODE: 'open' },
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.resume(); // the app's request log
      stderr.pipe(process.stderr);
    },
  });
  try {
    await worker.ready;
    const workerd = workerdChild();
    const run = async (piece: string, n: number) => {
      const answer = await worker.dispatchFetch(`http://loop/?piece=${piece}&n=${n}`);
      if (!answer.ok) throw new Error(`${piece}: ${answer.status} ${await answer.text()}`);
      await answer.text();
    };
    for (const piece of PIECES) await run(piece, Math.min(200, ITERATIONS)); // JIT, the Neon handle
    console.log(`workerd CPU per iteration (µs), ${ITERATIONS} iterations inside one request\n`);
    console.log(`| piece | ${[1, 2].map((round) => `round ${round}`).join(' | ')} |`);
    console.log('|---|---|---|');
    const figures = new Map<string, string[]>();
    for (const round of [1, 2]) {
      for (const piece of PIECES) {
        const before = cpuSeconds(workerd)!;
        await run(piece, ITERATIONS);
        figures.set(piece, [...(figures.get(piece) ?? []), (((cpuSeconds(workerd)! - before) * 1e6) / ITERATIONS).toFixed(0)]);
        if (round === 2) console.log(`| ${piece} | ${figures.get(piece)!.join(' | ')} |`);
      }
    }
  } finally {
    await worker.dispose();
  }
} finally {
  await proxy.close();
  await database.drop();
}
