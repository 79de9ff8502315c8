/**
 * Texts kept in memory by key, each with the version of what it was made from: a text is given back
 * only for the version it was stored with. The least recently used go first once the entries exceed
 * `maxBytes` in all; a text larger than that is not kept.
 */
export class VersionedTexts {
  readonly #entries = new Map<string, { version: string; text: string; bytes: number }>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string, version: string): string | undefined {
    const entry = this.#entries.get(key);
    if (entry?.version !== version) return undefined;
    // Map keeps insertion order: re-inserted, the entry is now the most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.text;
  }

  set(key: string, version: string, text: string): void {
    this.#drop(key);
    const bytes = bytesOf(text) + bytesOf(key) + bytesOf(version) + ENTRY_BYTES;
    if (bytes > this.maxBytes) return;
    this.#entries.set(key, { version, text, bytes });
    this.#bytes += bytes;
    for (const oldest of this.#entries.keys()) {
      if (this.#bytes <= this.maxBytes) break;
      this.#drop(oldest);
    }
  }

  /** Bytes the entries take, as counted against `maxBytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  #drop(key: string) {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}

/** What an entry costs besides its strings: the Map's slot, the entry object and the strings' headers (V8, 64-bit). */
const ENTRY_BYTES = 128;

/** V8 stores a string of Latin-1 characters in a byte each, any other in two bytes per character. */
const bytesOf = (text: string) => (/[^\u0000-\u00ff]/.test(text) ? 2 : 1) * text.length;

/** Texts kept within `maxBytes`, or none when it is 0. */
export const versionedTexts = (maxBytes: number) => (maxBytes > 0 ? new VersionedTexts(maxBytes) : undefined);
