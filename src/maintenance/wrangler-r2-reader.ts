/**
 * Reads objects of an R2 bucket from a machine, for `npm run restore -- --from r2://bucket/prefix`:
 * through `wrangler r2 object get` (the operator's wrangler login; or wrangler's local state with
 * `persistTo`), so no S3 client or R2 credentials are needed here. Restore only reads keys named by
 * the manifest, so reading is all it takes.
 */
import { execFile } from 'node:child_process';
import type { BlobStore } from './blob-store';

export function wranglerR2Reader(bucket: string, options: { persistTo?: string } = {}): Pick<BlobStore, 'get'> {
  const location = options.persistTo ? ['--local', '--persist-to', options.persistTo] : ['--remote'];
  return {
    get: (key) =>
      new Promise((resolve, reject) => {
        execFile(
          'npx',
          ['wrangler', 'r2', 'object', 'get', `${bucket}/${key}`, '--pipe', ...location],
          { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 },
          (error, stdout, stderr) => {
            if (!error) return resolve(new Uint8Array(stdout));
            // wrangler says so when the key is absent: that is a missing part, not a failure to read.
            if (stderr.toString().includes('does not exist')) return resolve(undefined);
            reject(new Error(`wrangler r2 object get ${bucket}/${key}: ${stderr.toString().trim()}`));
          },
        );
      }),
  };
}
