/**
 * Who may read a file served under `/s/<key>`. Files of projects anonymous callers may read are
 * public. Others need a credential that reads the project (a session cookie goes along with the
 * web app's `<img src>` on the same site), or a signed URL: `?expires=<unix s>&signature=<HMAC>`,
 * the HMAC-SHA-256 under FILES_URL_SECRET of the key and the expiry — a changed key, expiry or
 * signature fails the check, and an expired URL is refused.
 */
import type { AppConfig } from '../config';
import { fromBase64url, toBase64url } from '../lib/base64url';
import { ApiError } from '../lib/problem';
import { ANONYMOUS_SCOPES } from './authenticate';
import { canSeeProject, anonymousPrincipal } from './principal';

const encoder = new TextEncoder();
/** Imported keys, not the promises that import them: a Worker isolate's requests share plain data only (see ingestion/output-coalescer.ts `handOff`). */
const keys = new Map<string, CryptoKey>();

async function hmacKey(secret: string): Promise<CryptoKey> {
  const known = keys.get(secret);
  if (known) return known;
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  keys.set(secret, key);
  return key;
}

const signedText = (key: string, expires: number) => encoder.encode(`qaboard file url\n${expires}\n${key}`);

/** Whether anonymous callers may read the project (AUTH_MODE open or write): its files need no signature. */
export const anonymousMayRead = (config: AppConfig, projectId: string) =>
  canSeeProject({ ...anonymousPrincipal(ANONYMOUS_SCOPES[config.authMode]), acting: 'read' }, projectId);

/** `expires` and `signature` query parameters granting a read of `key` until `expires` (seconds since the epoch). */
export async function fileUrlSignature(secret: string, key: string, expires: number): Promise<{ expires: string; signature: string }> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), signedText(key, expires));
  return { expires: String(expires), signature: toBase64url(new Uint8Array(mac)) };
}

/** Checks a signed URL's parameters for `key`; refuses (403) a wrong signature, an expired or malformed one. */
export async function verifyFileUrlSignature(secret: string | undefined, key: string, expires: string, signature: string, now: Date): Promise<void> {
  if (!secret) throw new ApiError(403, 'This server signs no file URLs (FILES_URL_SECRET is not set): read files with a credential.');
  const expiry = /^\d{1,12}$/.test(expires) ? Number(expires) : NaN;
  let mac: Uint8Array;
  try {
    mac = fromBase64url(signature);
  } catch {
    throw new ApiError(403, 'The signature of this file URL is not valid.');
  }
  const valid = Number.isFinite(expiry) && (await crypto.subtle.verify('HMAC', await hmacKey(secret), mac as BufferSource, signedText(key, expiry)));
  if (!valid) throw new ApiError(403, 'The signature of this file URL is not valid.');
  if (expiry * 1000 <= now.getTime()) throw new ApiError(403, 'This signed file URL has expired: ask the API for the manifest again.');
}

/**
 * How the API links to a key of a project: plain for projects anonymous callers read, signed (and
 * valid FILES_URL_TTL_SECONDS) for the others when a secret is set.
 */
export function fileUrlMaker(config: AppConfig, projectId: string, now: Date, urlOf: (key: string) => string) {
  const secret = config.files.urlSecret;
  if (!secret || anonymousMayRead(config, projectId)) return async (key: string) => urlOf(key);
  const expires = Math.floor(now.getTime() / 1000) + config.files.urlTtlSeconds;
  return async (key: string) => `${urlOf(key)}?${new URLSearchParams(await fileUrlSignature(secret, key, expires))}`;
}
