/** base64url without padding (RFC 4648 §5): tokens, cookies and stored hashes stay URL- and header-safe. */
export const toBase64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

/** Throws on characters outside the alphabet. */
export const fromBase64url = (text: string) => Uint8Array.from(atob(text.replaceAll('-', '+').replaceAll('_', '/')), (ch) => ch.charCodeAt(0));
