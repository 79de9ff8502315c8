/** The on-disk format shared by export and restore: gzip NDJSON parts described by a manifest. */
import type { ArtifactsCensus } from './artifacts-census';

/** Tables in load order (parents first), with the key that keyset pagination walks. */
export const BACKUP_TABLES = [
  { name: 'projects', key: ['id'] },
  { name: 'ci_commits', key: ['id'] },
  { name: 'batches', key: ['id'] },
  { name: 'test_inputs', key: ['id'] },
  { name: 'outputs', key: ['id'] },
  { name: 'batch_metric_aggregates', key: ['batch_id', 'metric'] },
  { name: 'api_tokens', key: ['id'] },
  // Users, not their sessions: after a restore everyone signs in again.
  { name: 'users', key: ['id'] },
  { name: 'idempotency_keys', key: ['caller', 'key'] },
  { name: 'test_groups', key: ['project_id', 'name'] },
  { name: 'run_requests', key: ['id'] },
  // Pending file deletions: without them a restored database would leave those files in the bucket forever.
  { name: 'file_deletions', key: ['id'] },
] as const;

export type BackupTable = (typeof BACKUP_TABLES)[number];

export interface BackupPart {
  table: string;
  /** Relative to the manifest, e.g. `outputs/part-000000.ndjson.gz`, so a backup can be moved or copied under another prefix. */
  key: string;
  rows: number;
  sha256: string;
}

export interface BackupManifest {
  schemaVersion: string;
  startedAt: string;
  finishedAt: string;
  parts: BackupPart[];
  /** The ARTIFACTS bucket when the backup finished (not copied: see maintenance/artifacts-census.ts). */
  artifacts?: ArtifactsCensus;
}

export const MANIFEST_KEY = 'manifest.json';

/** A backup that can't be restored as it is: missing, incomplete, corrupt, or not ours. */
export class BackupError extends Error {}

export const partKey = (table: string, index: number) => `${table}/part-${String(index).padStart(6, '0')}.ndjson.gz`;

/**
 * Where a part lives, relative to its manifest. Manifests written before keys were relative stored them
 * with the backup's prefix (`backups/2026-11-28/outputs/part-000000.ndjson.gz`), which broke when the
 * backup was moved: the relative key is always the last two segments. The table and key are checked,
 * since both end up in SQL and file paths.
 */
export function relativePartKey(part: BackupPart): string {
  if (!BACKUP_TABLES.some((t) => t.name === part.table)) throw new BackupError(`the manifest names an unknown table "${part.table}"`);
  const key = part.key.split('/').slice(-2).join('/');
  if (!new RegExp(`^${part.table}/part-\\d{6}\\.ndjson\\.gz$`).test(key)) throw new BackupError(`the manifest names an unexpected part "${part.key}"`);
  return key;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function gunzip(bytes: Uint8Array): Promise<string> {
  const inflated = await collect(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip')));
  return new TextDecoder().decode(inflated);
}
