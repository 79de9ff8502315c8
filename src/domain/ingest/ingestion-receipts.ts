/**
 * The state of uploads acknowledged with a receipt (see the `ingestion_chunks` table): each chunk
 * of a receipt is recorded in the transaction that writes it — a redelivered chunk finds its row
 * and is recorded once. How long a receipt without any row may still be queued is the queues'
 * business (ingestion/receipts.ts), not this module's.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { ingestionChunks } from '../../db/schema';

export interface ChunkRecord {
  ingestionId: string;
  chunk: number;
  total: number;
  items: number;
  errors: { item: number; error: string }[];
  projectIds: string[];
}

/** Whether a chunk was written before (a redelivery). */
export async function chunkRecorded(db: Db, ingestionId: string, chunk: number): Promise<boolean> {
  const [row] = await db
    .select({ chunk: ingestionChunks.chunk })
    .from(ingestionChunks)
    .where(and(eq(ingestionChunks.ingestion_id, ingestionId), eq(ingestionChunks.chunk, chunk)));
  return row !== undefined;
}

/** Records a written chunk; false when it was recorded before (a concurrent redelivery: its writes were idempotent). */
export async function recordChunk(db: Db, chunk: ChunkRecord): Promise<boolean> {
  const inserted = await db
    .insert(ingestionChunks)
    .values({
      ingestion_id: chunk.ingestionId,
      chunk: chunk.chunk,
      total: chunk.total,
      items: chunk.items,
      errors: chunk.errors,
      project_ids: chunk.projectIds,
    })
    .onConflictDoNothing()
    .returning({ chunk: ingestionChunks.chunk });
  return inserted.length === 1;
}

export interface IngestionState {
  id: string;
  status: 'queued' | 'written' | 'failed';
  total: number | null;
  written: number;
  failed: { item: number; error: string }[];
}

/**
 * What became of a receipt's uploads so far; `undefined` when nothing was recorded under it,
 * `hidden` when its uploads belong to projects the caller can't see.
 */
export async function ingestionState(db: Db, id: string, canSeeProject: (projectId: string) => boolean): Promise<IngestionState | 'hidden' | undefined> {
  const chunks = await db
    .select({ total: ingestionChunks.total, items: ingestionChunks.items, errors: ingestionChunks.errors, projects: ingestionChunks.project_ids })
    .from(ingestionChunks)
    .where(eq(ingestionChunks.ingestion_id, id))
    .orderBy(ingestionChunks.chunk);
  if (!chunks.length) return undefined;
  if (!chunks.every((c) => c.projects.every(canSeeProject))) return 'hidden';
  const failed = chunks.flatMap((c) => c.errors);
  const done = chunks.reduce((n, c) => n + c.items, 0);
  const total = chunks[0]!.total;
  const status = done < total ? 'queued' : failed.length ? 'failed' : 'written';
  return { id, status, total, written: done - failed.length, failed };
}

/** Receipts are kept a month (the hourly cleanup forgets older ones). */
export async function pruneIngestionReceipts(db: Db, now: Date, olderThanDays = 30): Promise<number> {
  const pruned = await db
    .delete(ingestionChunks)
    .where(sql`${ingestionChunks.written_at} < ${now.toISOString()}::timestamptz - make_interval(days => ${olderThanDays})`)
    .returning({ id: ingestionChunks.ingestion_id });
  return pruned.length;
}
