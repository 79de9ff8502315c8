import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client';
import type { BlobStore, ObjectStore } from '../lib/object-store';
import { artifactsCensus } from './artifacts-census';
import { BACKUP_TABLES, type BackupManifest, type BackupPart, type BackupTable, MANIFEST_KEY, partKey } from './backup-format';
import { sha256Hex } from '../lib/digest';

export interface ExportOptions {
  /** Key prefix of this backup in the store, e.g. `daily/2026-11-28/`. */
  prefix: string;
  /** The latest migration tag (drizzle/meta/_journal.json). */
  schemaVersion: string;
  /** Rows per part: bounds memory (one page in flight) and the size of each put. */
  rowsPerPart?: number;
  now?: () => Date;
  /** Called after each part is written (progress of long exports). */
  onPart?: (part: BackupPart) => void;
  /** The output files' store, whose census the manifest records (not its files). */
  artifacts?: ObjectStore;
}

/** Rows fetched per query: one page of rows is all the export holds uncompressed. */
const ROWS_PER_PAGE = 1_000;

/**
 * Exports one part: up to `rowsPerPart` rows after `after` (keyset on the table's primary key), as
 * gzip NDJSON of `to_jsonb(row)` — JSONB and timestamps round-trip verbatim through
 * jsonb_populate_recordset. Pages stream through gzip, so memory holds one page plus the
 * compressed part (R2 needs its length). Parts are named by their index: re-running one overwrites
 * it, so an interrupted export resumes idempotently.
 */
export async function exportPart(db: Db, store: BlobStore, prefix: string, table: BackupTable, index: number, after: unknown[] | undefined, rowsPerPart: number) {
  const keyColumns = sql.raw(table.key.map((k) => `"${k}"`).join(', '));
  const gzip = new CompressionStream('gzip');
  const compressed = new Response(gzip.readable).arrayBuffer();
  const writer = gzip.writable.getWriter();
  const encoder = new TextEncoder();
  let rows = 0;
  let next = after;
  while (rows < rowsPerPart) {
    const where = next ? sql`WHERE (${keyColumns}) > (${sql.join(next.map((v) => sql`${v}`), sql`, `)})` : sql``;
    const page = await queryRows<{ row: string }>(
      db,
      sql`SELECT to_jsonb(t)::text AS row FROM ${sql.raw(`"${table.name}"`)} t ${where} ORDER BY ${keyColumns} LIMIT ${Math.min(ROWS_PER_PAGE, rowsPerPart - rows)}`,
    );
    if (page.length === 0) break;
    await writer.write(encoder.encode(page.map((r) => r.row).join('\n') + '\n'));
    rows += page.length;
    const last = JSON.parse(page[page.length - 1]!.row) as Record<string, unknown>;
    next = table.key.map((k) => last[k]);
    if (page.length < ROWS_PER_PAGE) break;
  }
  await writer.close();
  const body = new Uint8Array(await compressed);
  if (rows === 0) return undefined;
  const key = partKey(table.name, index);
  await store.put(`${prefix}${key}`, body);
  const part: BackupPart = { table: table.name, key, rows, sha256: await sha256Hex(body) };
  return { part, next };
}

/**
 * Exports every table then writes the manifest last: a backup without a manifest is incomplete.
 * All tables are read in one snapshot (a read-only REPEATABLE READ transaction): a server keeps
 * serving meanwhile, and rows written between two tables' exports would leave children without their
 * parents in the backup, which the restore's foreign keys then refuse. On Postgres nothing waits for
 * it; PGlite has one session, so its requests wait for the export (~35,000 rows/s).
 */
export async function exportBackup(db: Db, store: BlobStore, options: ExportOptions): Promise<BackupManifest> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const parts: BackupPart[] = [];
  await db.transaction(
    async (snapshot) => {
      for (const table of BACKUP_TABLES) {
        let after: unknown[] | undefined;
        for (let index = 0; ; index++) {
          const result = await exportPart(snapshot, store, options.prefix, table, index, after, options.rowsPerPart ?? 20_000);
          if (!result) break;
          parts.push(result.part);
          options.onPart?.(result.part);
          after = result.next;
        }
      }
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  const manifest: BackupManifest = {
    schemaVersion: options.schemaVersion,
    startedAt,
    finishedAt: now().toISOString(),
    parts,
    ...(options.artifacts && { artifacts: await artifactsCensus(options.artifacts, now) }),
  };
  await writeManifest(store, options.prefix, manifest);
  return manifest;
}

/** Written last: its presence is what makes a backup complete. */
export async function writeManifest(store: BlobStore, prefix: string, manifest: BackupManifest) {
  await store.put(`${prefix}${MANIFEST_KEY}`, new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
}
