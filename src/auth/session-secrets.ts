/**
 * The secrets of a session. The cookie carries 32 random bytes; the database keeps their SHA-256
 * digest, and whatever must stay usable (the user's GitLab OAuth tokens) encrypted with AES-256-GCM
 * under a key derived from the secret (HKDF-SHA-256) and bound to the row's digest. Whoever reads
 * the table (a backup, a leaked dump) can neither resume a session nor use a GitLab token.
 */
import { fromBase64url, toBase64url } from '../lib/base64url';
import { sha256Hex } from '../lib/digest';

const SECRET = /^[A-Za-z0-9_-]{43}$/;
const encoder = new TextEncoder();

export const newSessionSecret = () => toBase64url(crypto.getRandomValues(new Uint8Array(32)));

/** Whether a cookie value can be a session secret at all (saves a lookup for junk). */
export const isSessionSecret = (value: string) => SECRET.test(value);

export const sessionDigest = (secret: string) => sha256Hex(secret);

async function keyOf(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', fromBase64url(secret) as BufferSource, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode('qaboard session: GitLab tokens') },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** `value` as JSON, encrypted for the session `secret` (stored under `digest`). */
export async function sealForSession(secret: string, digest: string, value: unknown): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(digest) },
    await keyOf(secret),
    encoder.encode(JSON.stringify(value)),
  );
  return `${toBase64url(iv)}.${toBase64url(new Uint8Array(sealed))}`;
}

/** What `sealForSession` sealed; throws when the secret, the digest or the ciphertext don't match. */
export async function openForSession<T>(secret: string, digest: string, sealed: string): Promise<T> {
  const [iv = '', data = ''] = sealed.split('.');
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64url(iv) as BufferSource, additionalData: encoder.encode(digest) },
    await keyOf(secret),
    fromBase64url(data) as BufferSource,
  );
  return JSON.parse(new TextDecoder().decode(plain)) as T;
}
