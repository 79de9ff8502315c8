/** The on-disk format shared by export and restore: gzip NDJSON parts described by a manifest. */

/** Tables in load order (parents first), with the key that keyset pagination walks. */
export const BACKUP_TABLES = [
  { name: 'projects', key: ['id'] },
  { name: 'ci_commits', key: ['id'] },
  { name: 'batches', key: ['id'] },
  { name: 'test_inputs', key: ['id'] },
  { name: 'outputs', key: ['id'] },
  { name: 'batch_metric_aggregates', key: ['batch_id', 'metric'] },
  { name: 'api_tokens', key: ['id'] },
  { name: 'idempotency_keys', key: ['caller', 'key'] },
] as const;

export type BackupTable = (typeof BACKUP_TABLES)[number];

export interface BackupPart {
  table: string;
  key: string;
  rows: number;
  sha256: string;
}

export interface BackupManifest {
  schemaVersion: string;
  startedAt: string;
  finishedAt: string;
  parts: BackupPart[];
}

export const MANIFEST_KEY = 'manifest.json';

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function gunzip(bytes: Uint8Array): Promise<string> {
  const inflated = await collect(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip')));
  return new TextDecoder().decode(inflated);
}
