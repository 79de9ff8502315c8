/**
 * Local users' passwords: PBKDF2-HMAC-SHA256 through Web Crypto, 600,000 iterations in all
 * (OWASP's figure for PBKDF2-SHA256), with a 16-byte random salt.
 *
 * Cloudflare Workers refuse more than 100,000 iterations in one `deriveBits` call (workerd's
 * `checkPbkdfIterations`; cloudflare/workerd#1346), so the work is done as a chain: each link is
 * PBKDF2 of the previous link's 32-byte output, 100,000 iterations. A guess still costs 600,000
 * sequential HMAC iterations and there is no shortcut through a link. Stored as
 * `pbkdf2-sha256$<links>x<iterations>$<salt>$<hash>` (base64url), so the work factor can grow:
 * a hash below the current one is replaced at the next successful sign-in.
 * Verifying costs ~0.2–0.5 s of CPU: on Workers this needs the Paid plan's CPU limits.
 *
 * That cost is also a lever for a flood: a process (or isolate) hashes at most
 * MAX_CONCURRENT_HASHES passwords at once, with at most MAX_WAITING_HASHES more waiting their
 * turn; past that a sign-in is refused at once (503, Retry-After) rather than starving every
 * other request of CPU. sign-in-throttle.ts limits what one address may ask before this.
 */
import { timingSafeEqual } from 'hono/utils/buffer';
import { fromBase64url, toBase64url } from '../lib/base64url';
import { serviceUnavailable } from '../lib/problem';

const LINKS = 6;
const ITERATIONS_PER_LINK = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const SCHEME = 'pbkdf2-sha256';
const encoder = new TextEncoder();
const MAX_CONCURRENT_HASHES = 2;
const MAX_WAITING_HASHES = 8;
const BUSY_RETRY_AFTER_SECONDS = 2;

let hashing = 0;
const waitingForHash: (() => void)[] = [];

/** Runs `work` when a hashing slot is free; refuses (503) when too many wait already. */
async function inHashingSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing < MAX_CONCURRENT_HASHES) hashing++;
  else if (waitingForHash.length >= MAX_WAITING_HASHES) throw serviceUnavailable('Too many password checks in progress; retry shortly.', BUSY_RETRY_AFTER_SECONDS);
  else await new Promise<void>((resolve) => waitingForHash.push(resolve)); // the slot is handed over as is
  try {
    return await work();
  } finally {
    const next = waitingForHash.shift();
    if (next) next();
    else hashing--;
  }
}

function pbkdf2Chain(password: string, salt: Uint8Array, links: number, iterations: number): Promise<Uint8Array> {
  return inHashingSlot(async () => {
    let key: Uint8Array = encoder.encode(password);
    for (let link = 0; link < links; link++) {
      const material = await crypto.subtle.importKey('raw', key as BufferSource, 'PBKDF2', false, ['deriveBits']);
      const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations }, material, HASH_BITS);
      key = new Uint8Array(bits);
    }
    return key;
  });
}

const format = (links: number, iterations: number, salt: Uint8Array, hash: Uint8Array) =>
  `${SCHEME}$${links}x${iterations}$${toBase64url(salt)}$${toBase64url(hash)}`;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  return format(LINKS, ITERATIONS_PER_LINK, salt, await pbkdf2Chain(password, salt, LINKS, ITERATIONS_PER_LINK));
}

interface StoredHash {
  links: number;
  iterations: number;
  salt: Uint8Array;
}

function parseStored(stored: string): StoredHash | undefined {
  const match = /^pbkdf2-sha256\$(\d{1,3})x(\d{1,7})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{43})$/.exec(stored);
  if (!match) return undefined;
  const links = Number(match[1]);
  const iterations = Number(match[2]);
  // A stored hash is data: never let it ask for unbounded work (or for more than Workers allow per call).
  if (links < 1 || links > 64 || iterations < 1 || iterations > ITERATIONS_PER_LINK) return undefined;
  return { links, iterations, salt: fromBase64url(match[3]!) };
}

/** A hash of nothing anyone can type, to spend the same time on unknown users as on known ones. */
const DUMMY_HASH = format(LINKS, ITERATIONS_PER_LINK, new Uint8Array(SALT_BYTES), new Uint8Array(HASH_BITS / 8));

/**
 * Whether `password` matches `stored` (compared in constant time). Without a stored hash (unknown
 * user, GitLab user) the same work is done against a dummy hash, so timing doesn't tell them apart.
 */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parsed = parseStored(stored ?? DUMMY_HASH) ?? parseStored(DUMMY_HASH)!;
  const hash = await pbkdf2Chain(password, parsed.salt, parsed.links, parsed.iterations);
  const matches = await timingSafeEqual(format(parsed.links, parsed.iterations, parsed.salt, hash), stored ?? DUMMY_HASH);
  return matches && stored !== null && stored !== undefined;
}

/** Whether a stored hash was made with less work than today's: rehash it at the next sign-in. */
export function needsRehash(stored: string): boolean {
  const parsed = parseStored(stored);
  return !parsed || parsed.links * parsed.iterations < LINKS * ITERATIONS_PER_LINK;
}
