/**
 * Texts kept in memory by key, each with the version of what it was made from: a text is given back
 * only for the version it was stored with. The least recently used go first once the texts exceed
 * `maxChars` characters in all; a text longer than that is not kept.
 */
export class VersionedTexts {
  readonly #entries = new Map<string, { version: string; text: string }>();
  #chars = 0;

  constructor(readonly maxChars: number) {}

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
    if (text.length > this.maxChars) return;
    this.#entries.set(key, { version, text });
    this.#chars += text.length;
    for (const oldest of this.#entries.keys()) {
      if (this.#chars <= this.maxChars) break;
      this.#drop(oldest);
    }
  }

  /** Characters held, for tests and health. */
  get size(): number {
    return this.#chars;
  }

  #drop(key: string) {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#chars -= entry.text.length;
  }
}
