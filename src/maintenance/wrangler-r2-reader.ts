/**
 * Reads objects of an R2 bucket from a machine, for `npm run restore -- --from r2://bucket/prefix/`,
 * with no S3 client or R2 credentials here. Restore only reads keys named by the manifest, so reading
 * is all it takes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BlobStore } from '../lib/object-store';
import { ChildProcessError, runOwned } from './owned-children';

export interface R2Reader extends Pick<BlobStore, 'get'> {
  close(): Promise<void>;
}

/**
 * The real bucket, under the operator's wrangler login: one `wrangler r2 object get` per object,
 * written to a file (not piped through our memory), in its own process group, killed past `timeoutMs`.
 */
export async function wranglerR2Reader(bucket: string, options: { timeoutMs?: number } = {}): Promise<R2Reader> {
  const folder = await mkdtemp(path.join(tmpdir(), 'qaboard-r2-'));
  let fileNumber = 0;
  return {
    async get(key) {
      const file = path.join(folder, `object-${fileNumber++}`);
      try {
        await runOwned('npx', ['--no-install', 'wrangler', 'r2', 'object', 'get', `${bucket}/${key}`, '--file', file, '--remote'], {
          timeoutMs: options.timeoutMs ?? 10 * 60_000,
        });
        return new Uint8Array(await readFile(file));
      } catch (error) {
        // wrangler says so when the key is absent: that is a missing part, not a failure to read.
        if (error instanceof ChildProcessError && error.stderr.includes('does not exist')) return undefined;
        throw error;
      } finally {
        await rm(file, { force: true });
      }
    },
    close: () => rm(folder, { recursive: true, force: true }),
  };
}

/**
 * wrangler's local R2 state (what `wrangler r2 object put --local --persist-to <dir>` writes), read in
 * this process through Miniflare — the simulator wrangler itself runs — instead of starting wrangler,
 * and its workerd, once per object (3 s and ~220 MB each).
 */
export async function localR2Reader(bucket: string, persistTo: string): Promise<R2Reader> {
  const { Miniflare } = await import('miniflare');
  const miniflare = new Miniflare({
    modules: true,
    script: 'export default {}',
    r2Buckets: [bucket],
    r2Persist: path.join(persistTo, 'v3', 'r2'), // wrangler's layout under --persist-to
  });
  const r2 = await miniflare.getR2Bucket(bucket);
  return {
    async get(key) {
      const object = await r2.get(key);
      return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
    },
    close: () => miniflare.dispose(),
  };
}
