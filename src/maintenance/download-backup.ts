import { BackupError, type BackupManifest, MANIFEST_KEY, relativePartKey } from './backup-format';
import type { BlobStore } from '../lib/object-store';
import { readManifest, verifiedPart } from './restore-backup';

/**
 * Copies a backup from a remote store (R2) into a local one, `concurrency` parts at a time, each checked
 * against the manifest as it arrives. The restore then reads it locally: every remote object is fetched
 * once, where verifying then loading straight from R2 fetched each twice, one after the other.
 * The copy's manifest names its parts relative to it, as new backups do.
 */
export async function downloadBackup(
  source: Pick<BlobStore, 'get'>,
  prefix: string,
  target: Pick<BlobStore, 'put'>,
  options: { concurrency?: number; onPart?: (done: number, parts: number) => void } = {},
): Promise<BackupManifest> {
  const manifest = await readManifest(source, prefix);
  const parts = manifest.parts.map((part) => ({ ...part, key: relativePartKey(part) }));
  let next = 0;
  let done = 0;
  let failure: unknown;
  const worker = async () => {
    // After a failure no new part starts; the ones in flight finish before the error is reported.
    while (failure === undefined && next < parts.length) {
      const part = parts[next++]!;
      try {
        await target.put(part.key, await verifiedPart(source, prefix, part));
        options.onPart?.(++done, parts.length);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, parts.length) }, worker));
  if (failure !== undefined) throw failure instanceof BackupError ? failure : new BackupError(`copying the backup failed: ${String(failure)}`);
  const copy = { ...manifest, parts };
  await target.put(MANIFEST_KEY, new TextEncoder().encode(JSON.stringify(copy, null, 2)));
  return copy;
}
