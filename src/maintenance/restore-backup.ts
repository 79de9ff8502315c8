import { sha256Hex } from '../lib/digest';
import { BACKUP_TABLES, BackupError, type BackupManifest, type BackupPart, gunzip, MANIFEST_KEY, relativePartKey } from './backup-format';
import type { BlobStore } from '../lib/object-store';

/**
 * The one session a restore runs in: a node-postgres client, or PGlite itself (the embedded database).
 * Both answer `query(text, params)` with `{ rows }`.
 */
export interface SqlSession {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

/** Progress of a long restore, for the operator: what is done out of what. */
export type RestoreProgress =
  | { step: 'verify'; partsDone: number; parts: number }
  | { step: 'load'; partsDone: number; parts: number; rowsDone: number; rows: number }
  | { step: 'rebuild'; indexes: number; foreignKeys: number };

export async function readManifest(store: Pick<BlobStore, 'get'>, prefix: string): Promise<BackupManifest> {
  const raw = await store.get(`${prefix}${MANIFEST_KEY}`);
  if (!raw) throw new BackupError(`no ${MANIFEST_KEY} under "${prefix}": the backup is missing or was never completed`);
  return JSON.parse(new TextDecoder().decode(raw)) as BackupManifest;
}

/** A part's bytes, checked against the manifest. */
export async function verifiedPart(store: Pick<BlobStore, 'get'>, prefix: string, part: BackupPart): Promise<Uint8Array> {
  const key = relativePartKey(part);
  const body = await store.get(`${prefix}${key}`);
  if (!body) throw new BackupError(`part ${key} is listed in the manifest but missing under "${prefix}"`);
  if ((await sha256Hex(body)) !== part.sha256) throw new BackupError(`part ${key} is corrupt: sha256 differs from the manifest`);
  return body;
}

/** Reads the manifest and checks every part is present with its recorded sha256, before loading anything. */
export async function verifiedManifest(store: Pick<BlobStore, 'get'>, prefix: string, onProgress?: (progress: RestoreProgress) => void): Promise<BackupManifest> {
  const manifest = await readManifest(store, prefix);
  for (const [i, part] of manifest.parts.entries()) {
    await verifiedPart(store, prefix, part);
    onProgress?.({ step: 'verify', partsDone: i + 1, parts: manifest.parts.length });
  }
  return manifest;
}

interface DeferredDefinition {
  kind: 'index' | 'foreign key';
  name: string;
  table: string;
  definition: string;
}

/**
 * Secondary indexes and foreign keys of the restored tables. Maintaining them row by row is most of
 * a restore's cost; dropping them and building them once after the load (inside the same
 * transaction, so a failure restores them too) is several times faster — and the rebuild still
 * checks every unique index and every reference.
 */
async function deferredDefinitions(client: SqlSession, tables: string[]): Promise<DeferredDefinition[]> {
  const { rows } = await client.query<DeferredDefinition>(
    `SELECT 'foreign key' AS kind, con.conname AS name, rel.relname AS table, pg_get_constraintdef(con.oid) AS definition
       FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
      WHERE con.contype = 'f' AND rel.relname = ANY($1) AND rel.relnamespace = 'public'::regnamespace
     UNION ALL
     SELECT 'index', idx.relname, rel.relname, pg_get_indexdef(i.indexrelid)
       FROM pg_index i JOIN pg_class idx ON idx.oid = i.indexrelid JOIN pg_class rel ON rel.oid = i.indrelid
      WHERE rel.relname = ANY($1) AND rel.relnamespace = 'public'::regnamespace AND NOT i.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
    [tables],
  );
  return rows;
}

async function dropDeferred(client: SqlSession, deferred: DeferredDefinition[]) {
  for (const d of deferred) {
    await client.query(d.kind === 'index' ? `DROP INDEX "${d.name}"` : `ALTER TABLE "${d.table}" DROP CONSTRAINT "${d.name}"`);
  }
}

async function recreateDeferred(client: SqlSession, deferred: DeferredDefinition[]) {
  // Indexes first: foreign keys may rely on them.
  for (const d of deferred.filter((d) => d.kind === 'index')) await client.query(d.definition);
  for (const d of deferred.filter((d) => d.kind === 'foreign key')) {
    await client.query(`ALTER TABLE "${d.table}" ADD CONSTRAINT "${d.name}" ${d.definition}`);
  }
}

/** Rows loaded per INSERT: one jsonb parameter each, so no bind-parameter limit applies. */
const ROWS_PER_INSERT = 5_000;

export interface RestoreOptions {
  /** Replace the data of a non-empty target (in the same transaction). */
  force?: boolean;
  onProgress?: (progress: RestoreProgress) => void;
}

/** The columns of each of `tables`. */
async function tableColumns(client: SqlSession, tables: string[]): Promise<Map<string, Set<string>>> {
  const { rows } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [`{${tables.join(',')}}`],
  );
  const columns = new Map<string, Set<string>>();
  for (const { table_name, column_name } of rows) columns.set(table_name, (columns.get(table_name) ?? new Set()).add(column_name));
  return columns;
}

/**
 * The columns a part's rows load, as an SQL list: those its first row has and its table still has.
 * A column added since the backup was written is left out, so it takes its default (a missing key
 * would read as NULL); one dropped since is ignored.
 */
function columnsOfPart(firstLine: string | undefined, columnsOfTable: Set<string> | undefined): string {
  const keys = firstLine ? Object.keys(JSON.parse(firstLine) as object) : [];
  return keys.filter((key) => columnsOfTable?.has(key)).map((key) => `"${key.replaceAll('"', '""')}"`).join(', ');
}

/**
 * Loads a verified backup into a migrated database in ONE transaction: any failure (corrupt part,
 * count mismatch, constraint) rolls everything back, so nothing is ever half-loaded.
 * Refuses a target holding data unless `force` (which empties it inside the same transaction).
 */
export async function restoreBackup(client: SqlSession, store: Pick<BlobStore, 'get'>, prefix: string, options: RestoreOptions = {}) {
  const manifest = await verifiedManifest(store, prefix, options.onProgress);
  const totalRows = manifest.parts.reduce((sum, p) => sum + p.rows, 0);
  const tables = BACKUP_TABLES.map((t) => `"${t.name}"`).join(', ');
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ present: boolean }>(`SELECT EXISTS (SELECT FROM projects) OR EXISTS (SELECT FROM api_tokens) AS present`);
    if (rows[0]!.present) {
      if (!options.force) throw new BackupError('the target database is not empty (use --force to replace its data)');
      await client.query(`TRUNCATE ${tables} RESTART IDENTITY CASCADE`);
    }
    const deferred = await deferredDefinitions(client, BACKUP_TABLES.map((t) => t.name));
    await dropDeferred(client, deferred);
    const columnsOf = await tableColumns(client, BACKUP_TABLES.map((t) => t.name));
    const loaded = new Map<string, number>();
    let rowsDone = 0;
    for (const [index, part] of manifest.parts.entries()) {
      // Read and checked again: parts are not kept in memory between verifying and loading.
      const lines = (await gunzip(await verifiedPart(store, prefix, part))).split('\n').filter(Boolean);
      if (lines.length !== part.rows) throw new BackupError(`part ${part.key} holds ${lines.length} rows, the manifest says ${part.rows}`);
      const columns = columnsOfPart(lines[0], columnsOf.get(part.table));
      for (let i = 0; i < lines.length; i += ROWS_PER_INSERT) {
        const json = `[${lines.slice(i, i + ROWS_PER_INSERT).join(',')}]`;
        await client.query(`INSERT INTO "${part.table}" (${columns}) SELECT ${columns} FROM jsonb_populate_recordset(NULL::"${part.table}", $1::jsonb)`, [json]);
      }
      loaded.set(part.table, (loaded.get(part.table) ?? 0) + lines.length);
      rowsDone += lines.length;
      options.onProgress?.({ step: 'load', partsDone: index + 1, parts: manifest.parts.length, rowsDone, rows: totalRows });
    }
    options.onProgress?.({
      step: 'rebuild',
      indexes: deferred.filter((d) => d.kind === 'index').length,
      foreignKeys: deferred.filter((d) => d.kind === 'foreign key').length,
    });
    await recreateDeferred(client, deferred);
    for (const table of BACKUP_TABLES) {
      const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${table.name}"`);
      if (Number(counted[0]!.n) !== (loaded.get(table.name) ?? 0)) throw new BackupError(`${table.name}: row count differs from the backup after loading`);
      if (table.key[0] === 'id' && table.name !== 'projects') {
        // Serial ids were restored verbatim: move each sequence past the largest one.
        await client.query(`SELECT setval(pg_get_serial_sequence('"${table.name}"', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM "${table.name}"`);
      }
    }
    await client.query('COMMIT');
    return { manifest, rows: Object.fromEntries(loaded) };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}
