/** SHA-256 through Web Crypto (Workers and Node alike): of text (UTF-8) or bytes. */
const encoder = new TextEncoder();

export async function sha256(data: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return [...(await sha256(data))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
