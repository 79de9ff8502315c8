/**
 * Where backups live: an R2 bucket on Workers, a local folder on Node and in scripts.
 * Objects are written whole (R2 `put()` needs a known length), so callers buffer bounded parts.
 */
export interface BlobStore {
  put(key: string, body: Uint8Array): Promise<void>;
  /** `undefined` when the object does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
}

/** The R2 binding (`BACKUPS`) seen through the BlobStore interface. */
export function r2BlobStore(bucket: R2Bucket): BlobStore {
  return {
    async put(key, body) {
      await bucket.put(key, body);
    },
    async get(key) {
      const object = await bucket.get(key);
      return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
    },
    async list(prefix) {
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix, cursor });
        keys.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return keys;
    },
    async delete(keys) {
      // R2 deletes at most 1000 keys per call.
      for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
    },
  };
}
