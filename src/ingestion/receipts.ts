/**
 * Receipts of uploads: when each was received (the order the database keeps between uploads of the
 * same output, see domain/ingest/ingest-outputs.ts) and the id a client can ask about
 * (`GET /api/v1/ingestions/:id`).
 */

/**
 * Receipt times as ISO 8601 with microseconds, strictly increasing within this process (or
 * isolate): two uploads a client sends one after the other are ordered even in the same millisecond.
 */
export function receiptClock(now: () => number = Date.now): () => string {
  let last = 0;
  return () => {
    const micros = Math.max(now() * 1000, last + 1);
    last = micros;
    const iso = new Date(Math.floor(micros / 1000)).toISOString();
    return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
  };
}

/** A UUIDv7 (RFC 9562): its first 48 bits are the time it was issued, in milliseconds. */
export function newReceiptId(now: number = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 6; i++) bytes[i] = Math.floor(now / 2 ** (8 * (5 - i))) % 256;
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** When a receipt was issued (ms), or undefined when `id` is not a receipt id. */
export function receiptIssuedAt(id: string): number | undefined {
  if (!UUID_V7.test(id)) return undefined;
  return parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}
