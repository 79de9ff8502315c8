/**
 * The Node entry's spool: uploads acknowledged while the database was unavailable (or sent in
 * bulk), kept in append-only NDJSON segment files in the data folder until they are written.
 *
 * - Durable before the answer: `append` resolves after `fsync`. Concurrent appends share one
 *   write and one fsync (group commit), so a burst of CI uploads doesn't queue on the disk.
 * - Read in order from a cursor (segment, byte offset) saved with write-rename-fsync once a batch
 *   is written; a crash before that replays the batch, which the writes tolerate (receipt times).
 * - A crash mid-append can leave a torn last line (its client was never answered): it is cut off
 *   when the spool is opened.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Spool } from './spool';
import type { SpooledUpload } from './spooled-uploads';

const SEGMENT_BYTES = 8 * 1024 * 1024;
/** Bulk uploads are cut into messages of at most this size: a message is written in one transaction. */
const MESSAGE_BYTES = 4 * 1024 * 1024;
const READ_BYTES = 4 * 1024 * 1024;
const segmentName = (n: number) => `segment-${String(n).padStart(9, '0')}.ndjson`;

interface Cursor {
  segment: number;
  offset: number;
}

export interface SpoolBatch {
  messages: SpooledUpload[];
  /** Marks the batch written: the spool moves past it for good. */
  done(): Promise<void>;
}

export interface FileSpool extends Spool {
  /** The oldest unwritten messages, up to `max` (none: empty array). */
  take(max: number): Promise<SpoolBatch>;
}

function fsyncPath(file: string) {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function segmentsIn(folder: string): Promise<number[]> {
  const names = await readdir(folder);
  return names
    .map((name) => /^segment-(\d+)\.ndjson$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Cuts a torn last line (no newline: its append never completed) off a segment. */
async function repairTail(file: string) {
  const content = await readFile(file);
  const end = content.lastIndexOf(0x0a) + 1;
  if (end < content.length) await truncate(file, end);
}

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, offset);
    return buffer;
  } finally {
    await handle.close();
  }
}

const countLines = (buffer: Buffer) => buffer.reduce((n, byte) => n + (byte === 0x0a ? 1 : 0), 0);

async function openFileSpool(folder: string): Promise<FileSpool> {
  await mkdir(folder, { recursive: true });
  const cursorFile = path.join(folder, 'cursor.json');
  const cursor: Cursor = await readFile(cursorFile, 'utf8').then(
    (text) => JSON.parse(text) as Cursor,
    () => ({ segment: 1, offset: 0 }),
  );
  const segments = await segmentsIn(folder);
  let writing = Math.max(cursor.segment, ...segments);
  let writingBytes = 0;
  let depth = 0;
  for (const n of segments.filter((n) => n >= cursor.segment)) {
    const file = path.join(folder, segmentName(n));
    await repairTail(file);
    const content = await readFile(file);
    depth += countLines(n === cursor.segment ? content.subarray(cursor.offset) : content);
    if (n === writing) writingBytes = content.length;
  }

  // Group commit: appends that arrive while a write is in progress go together in the next one.
  let pending: { lines: string; count: number; resolve(): void; reject(error: unknown): void }[] = [];
  let flushing: Promise<void> | undefined;
  async function flush() {
    while (pending.length) {
      const group = pending;
      pending = [];
      const text = group.map((g) => g.lines).join('');
      try {
        if (writingBytes >= SEGMENT_BYTES) [writing, writingBytes] = [writing + 1, 0];
        const file = path.join(folder, segmentName(writing));
        const handle = await open(file, 'a');
        try {
          await handle.writeFile(text);
          await handle.sync();
        } finally {
          await handle.close();
        }
        if (writingBytes === 0) fsyncPath(folder); // a new segment's directory entry is durable too
        writingBytes += Buffer.byteLength(text);
        depth += group.reduce((n, g) => n + g.count, 0);
        for (const g of group) g.resolve();
      } catch (error) {
        for (const g of group) g.reject(error);
      }
    }
    flushing = undefined;
  }

  async function saveCursor(next: Cursor) {
    const temporary = `${cursorFile}.tmp`;
    await writeFile(temporary, JSON.stringify(next));
    fsyncPath(temporary);
    await rename(temporary, cursorFile);
    fsyncPath(folder);
    Object.assign(cursor, next);
  }

  return {
    chunkBytes: MESSAGE_BYTES,
    maxMessageBytes: MESSAGE_BYTES,
    append(messages) {
      if (!messages.length) return Promise.resolve();
      const lines = messages.map((m) => `${JSON.stringify(m)}\n`).join('');
      const appended = new Promise<void>((resolve, reject) => pending.push({ lines, count: messages.length, resolve, reject }));
      flushing ??= flush();
      return appended;
    },
    async depth() {
      return depth;
    },
    async take(max) {
      const messages: SpooledUpload[] = [];
      let at: Cursor = { ...cursor };
      while (messages.length < max) {
        const file = path.join(folder, segmentName(at.segment));
        const size = await stat(file).then((s) => s.size, () => 0);
        if (at.offset >= size) {
          if (at.segment >= writing) break;
          at = { segment: at.segment + 1, offset: 0 };
          continue;
        }
        // Read at least one whole line (a line is one message, as large as the largest upload).
        let buffer: Buffer = Buffer.alloc(0);
        for (let want = READ_BYTES; !buffer.includes(0x0a); want *= 2) {
          if (buffer.length === size - at.offset) throw new Error(`spool: ${file} ends without a newline at ${at.offset}`);
          buffer = await readAt(file, at.offset, Math.min(want, size - at.offset));
        }
        let start = 0;
        for (let end = buffer.indexOf(0x0a); end !== -1 && messages.length < max; end = buffer.indexOf(0x0a, start)) {
          messages.push(JSON.parse(buffer.subarray(start, end).toString('utf8')) as SpooledUpload);
          start = end + 1;
        }
        at = { segment: at.segment, offset: at.offset + start };
      }
      const next = at;
      return {
        messages,
        async done() {
          const finished = (await segmentsIn(folder)).filter((n) => n < next.segment);
          await saveCursor(next);
          depth -= messages.length;
          await Promise.all(finished.map((n) => rm(path.join(folder, segmentName(n)), { force: true })));
        },
      };
    },
  };
}

/** The spool in `folder`, opened on first use (opening reads and repairs its files). */
export function fileSpool(folder: string): FileSpool {
  const opened = openFileSpool(folder);
  opened.catch(() => {}); // a failure surfaces on first use, as a 503 to the client
  return {
    chunkBytes: MESSAGE_BYTES,
    maxMessageBytes: MESSAGE_BYTES,
    append: async (messages) => (await opened).append(messages),
    depth: async () => (await opened).depth(),
    take: async (max) => (await opened).take(max),
  };
}
