import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumMismatch, type ObjectStore, type StoredObjectInfo } from './object-store';

/** Files being written are hidden under this name until complete, so readers never see half a file. */
const PARTIAL = /\.partial-[0-9a-f]{16}$/;

/**
 * A local folder as an ObjectStore: keys are relative paths (Node entry and scripts). ETags come
 * from size and modification time (no hashing on reads); content types are not stored (the server
 * derives them from the file name).
 */
export function folderObjectStore(root: string): ObjectStore {
  const fileOf = (key: string) => path.join(root, ...key.split('/'));
  const infoOf = (key: string, size: number, mtime: Date): StoredObjectInfo => ({
    key,
    size,
    etag: `"${size.toString(16)}-${Math.floor(mtime.getTime()).toString(16)}"`,
    uploaded: mtime,
  });
  async function head(key: string) {
    try {
      const stats = await stat(fileOf(key));
      return stats.isFile() ? infoOf(key, stats.size, stats.mtime) : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw error;
    }
  }
  async function listObjects(prefix: string) {
    const files = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    const objects = await Promise.all(
      files
        .filter((f) => f.isFile() && !PARTIAL.test(f.name))
        .map((f) => path.relative(root, path.join(f.parentPath, f.name)).split(path.sep).join('/'))
        .filter((key) => key.startsWith(prefix))
        .map(head),
    );
    return objects.filter((o): o is StoredObjectInfo => o !== undefined).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  return {
    async put(key, body) {
      await mkdir(path.dirname(fileOf(key)), { recursive: true });
      await writeFile(fileOf(key), body);
    },
    async get(key) {
      try {
        return new Uint8Array(await readFile(fileOf(key)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    list: async (prefix) => (await listObjects(prefix)).map((o) => o.key),
    listObjects,
    async listPage({ startAfter, limit }) {
      const after = (await listObjects('')).filter((o) => startAfter === undefined || o.key > startAfter);
      return { objects: after.slice(0, limit), more: after.length > limit };
    },
    async delete(keys) {
      await Promise.all(keys.map((key) => rm(fileOf(key), { force: true })));
    },
    head,
    async putStream(key, body, { size, sha256 }) {
      const file = fileOf(key);
      const partial = `${file}.partial-${Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')}`;
      await mkdir(path.dirname(file), { recursive: true });
      const hash = createHash('sha256');
      let received = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          received += chunk.length;
          hash.update(chunk);
          done(received > size ? new Error(`the body is longer than its ${size} bytes`) : null, chunk);
        },
      });
      try {
        await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream), count, createWriteStream(partial));
        if (received !== size) throw new Error(`the body has ${received} bytes, not the ${size} announced`);
        if (sha256 && hash.digest('hex') !== sha256.toLowerCase()) throw new ChecksumMismatch('The body does not have the SHA-256 sent.');
        await rename(partial, file);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      return (await head(key))!;
    },
    async read(key, range) {
      const info = await head(key);
      if (!info) return undefined;
      const stream = createReadStream(fileOf(key), range && { start: range.offset, end: range.offset + range.length - 1 });
      return { info, body: Readable.toWeb(stream) as ReadableStream<Uint8Array> };
    },
  };
}
