/**
 * Object storage behind one interface: an R2 bucket on Workers, a local folder on Node and in
 * scripts. Backups use the whole-object half (`BlobStore`: parts buffered, R2 `put()` needs a known
 * length); output files (`ObjectStore`) also stream in and out, with ranges, ETags and sizes.
 */
export interface BlobStore {
  put(key: string, body: Uint8Array): Promise<void>;
  /** `undefined` when the object does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
}

export interface StoredObjectInfo {
  key: string;
  size: number;
  /** Quoted, as sent in `ETag`. */
  etag: string;
  uploaded: Date;
  /** The MD5 of the bytes (hex) when the store knows it (R2: single-part uploads). */
  md5?: string;
  contentType?: string;
}

/** A byte range already checked against the object's size. */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface StreamedPut {
  /** Exactly this many bytes are expected (R2 needs a known length; a body that differs is refused). */
  size: number;
  contentType?: string;
  /** Hex SHA-256 the bytes must have: a mismatch throws `ChecksumMismatch` and stores nothing. */
  sha256?: string;
}

export class ChecksumMismatch extends Error {}

export interface ObjectStore extends BlobStore {
  putStream(key: string, body: ReadableStream<Uint8Array>, options: StreamedPut): Promise<StoredObjectInfo>;
  head(key: string): Promise<StoredObjectInfo | undefined>;
  /** The object's bytes (a range of them); `undefined` when it does not exist. */
  read(key: string, range?: ByteRange): Promise<{ info: StoredObjectInfo; body: ReadableStream<Uint8Array> } | undefined>;
  /** Every object under the prefix, with sizes, in key order. */
  listObjects(prefix: string): Promise<StoredObjectInfo[]>;
  /** At most `limit` objects (≤ 1000) in key order after the key `startAfter`; `more` when others follow. */
  listPage(options: { startAfter?: string; limit: number }): Promise<{ objects: StoredObjectInfo[]; more: boolean }>;
}

const MD5_ETAG = /^[0-9a-f]{32}$/;

function infoOfR2(object: R2Object): StoredObjectInfo {
  return {
    key: object.key,
    size: object.size,
    etag: object.httpEtag,
    uploaded: object.uploaded,
    // Multipart uploads' ETags are not the MD5 of the bytes (`<md5>-<parts>`).
    ...(MD5_ETAG.test(object.etag) && { md5: object.etag }),
    ...(object.httpMetadata?.contentType && { contentType: object.httpMetadata.contentType }),
  };
}

/** An R2 binding (`BACKUPS`, `ARTIFACTS`) seen through the ObjectStore interface. */
export function r2ObjectStore(bucket: R2Bucket): ObjectStore {
  async function listObjects(prefix: string) {
    const objects: StoredObjectInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, cursor });
      objects.push(...page.objects.map(infoOfR2));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return objects;
  }
  return {
    async put(key, body) {
      await bucket.put(key, body);
    },
    async get(key) {
      const object = await bucket.get(key);
      return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
    },
    list: async (prefix) => (await listObjects(prefix)).map((o) => o.key),
    listObjects,
    async listPage({ startAfter, limit }) {
      const page = await bucket.list({ startAfter, limit });
      return { objects: page.objects.map(infoOfR2), more: page.truncated };
    },
    async delete(keys) {
      // R2 deletes at most 1000 keys per call.
      for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
    },
    async putStream(key, body, { size, contentType, sha256 }) {
      // A stream of known length is what R2 stores without buffering; a shorter or longer body fails the put.
      const sized = body.pipeThrough(new FixedLengthStream(size));
      try {
        const object = await bucket.put(key, sized, { httpMetadata: contentType ? { contentType } : undefined, ...(sha256 && { sha256 }) });
        return infoOfR2(object!);
      } catch (error) {
        if (sha256 && /checksum|sha-?256|digest/i.test(String(error))) throw new ChecksumMismatch(String(error));
        throw error;
      }
    },
    async head(key) {
      const object = await bucket.head(key);
      return object ? infoOfR2(object) : undefined;
    },
    async read(key, range) {
      const object = await bucket.get(key, range ? { range } : undefined);
      return object ? { info: infoOfR2(object), body: object.body } : undefined;
    },
  };
}
