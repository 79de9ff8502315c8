/** A Worker script of the benches bundled as wrangler would: an ES module, with the workerd conditions. */
import { build } from 'esbuild';

/** Bundles `entry` into `outfile`; `.jsonl` files it imports come in as text (the qa CLI's captured requests). */
export async function bundleWorker(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker'],
    external: ['cloudflare:*', 'node:*'],
    loader: { '.jsonl': 'text' },
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}
