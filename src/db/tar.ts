/**
 * The few tar (ustar) features the PGlite data-folder template needs: regular files and folders with
 * short relative names. PGlite's own `loadDataDir` reads the same format.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

const BLOCK = 512;

export interface TarEntry {
  name: string;
  /** undefined for a folder. */
  data?: Uint8Array;
}

function header(entry: TarEntry): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const put = (text: string, offset: number) => block.set(new TextEncoder().encode(text), offset);
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0');
  const folder = entry.data === undefined;
  if (entry.name.length > 99) throw new Error(`tar: name longer than 99 bytes: ${entry.name}`);
  put(entry.name + (folder ? '/' : ''), 0);
  put(octal(folder ? 0o700 : 0o600, 8), 100);
  put(octal(0, 8), 108); // uid
  put(octal(0, 8), 116); // gid
  put(octal(entry.data?.length ?? 0, 12), 124);
  put(octal(0, 12), 136); // mtime: fixed, so the same folder packs to the same bytes
  put(folder ? '5' : '0', 156);
  put('ustar\u000000', 257);
  put('        ', 148); // the checksum is computed with its own field as spaces
  put(`${octal(block.reduce((sum, b) => sum + b, 0), 7)}\u0000`, 148);
  return block;
}

export function packTar(entries: TarEntry[]): Uint8Array {
  const size = entries.reduce((sum, e) => sum + BLOCK + Math.ceil((e.data?.length ?? 0) / BLOCK) * BLOCK, 2 * BLOCK);
  const tar = new Uint8Array(size);
  let offset = 0;
  for (const entry of entries) {
    tar.set(header(entry), offset);
    offset += BLOCK;
    if (entry.data) {
      tar.set(entry.data, offset);
      offset += Math.ceil(entry.data.length / BLOCK) * BLOCK;
    }
  }
  return tar; // ends with two zero blocks
}

/**
 * Extracts a tar stream into `folder` as it arrives: memory holds one chunk, whatever the file sizes.
 * Names with `..` or a leading `/` are refused, so entries land under `folder` only.
 */
export async function extractTar(chunks: AsyncIterable<Uint8Array>, folder: string): Promise<void> {
  let header: Uint8Array = new Uint8Array(0); // a header block split across chunks
  let file: { fd: number; left: number; padding: number } | undefined;
  for await (let chunk of chunks) {
    while (chunk.length > 0) {
      if (file) {
        const data = chunk.subarray(0, file.left);
        writeSync(file.fd, data);
        file.left -= data.length;
        chunk = chunk.subarray(data.length);
        if (file.left > 0) break;
        const skip = Math.min(file.padding, chunk.length); // the zeros up to the next block
        file.padding -= skip;
        chunk = chunk.subarray(skip);
        if (file.padding > 0) break;
        closeSync(file.fd);
        file = undefined;
        continue;
      }
      const wanted = BLOCK - header.length;
      header = concat(header, chunk.subarray(0, wanted));
      chunk = chunk.subarray(wanted);
      if (header.length < BLOCK) break;
      const block = header;
      header = new Uint8Array(0);
      if (block[0] === 0) return; // the end-of-archive zero blocks
      const field = (from: number, length: number) =>
        new TextDecoder().decode(block.subarray(from, from + length)).replace(/\0.*$/s, '');
      const name = field(0, 100).replace(/\/$/, '');
      const type = field(156, 1);
      if (name.startsWith('/') || name.split('/').includes('..')) throw new Error(`tar: unsafe name ${name}`);
      const target = path.join(folder, ...name.split('/'));
      if (type === '5') {
        mkdirSync(target, { recursive: true, mode: 0o700 });
      } else if (type === '0' || type === '') {
        const size = parseInt(field(124, 12).trim() || '0', 8);
        file = { fd: openSync(target, 'w', 0o600), left: size, padding: Math.ceil(size / BLOCK) * BLOCK - size };
        if (size === 0) (closeSync(file.fd), (file = undefined));
      } else {
        throw new Error(`tar: unsupported entry type "${type}" for ${name}`);
      }
    }
  }
  throw new Error('tar: truncated archive');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
