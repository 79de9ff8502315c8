/**
 * Presigned S3-API PUT URLs (SigV4 in the query string, signed by aws4fetch) for R2: the client
 * sends the bytes straight to the bucket, never through the Worker. Headers given here are signed:
 * the client must send them as they are (R2 then checks `x-amz-checksum-sha256` against the bytes).
 */
import { AwsV4Signer } from 'aws4fetch';

export interface S3Bucket {
  /** `https://<account>.r2.cloudflarestorage.com` (path-style: the bucket is the first segment). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  ttlSeconds: number;
}

export interface PresignedPut {
  url: string;
  /** Headers the PUT must carry as they are. */
  headers: Record<string, string>;
  expiresAt: string;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;
const base64OfHex = (hex: string) => btoa(String.fromCharCode(...(hex.match(/../g) ?? []).map((byte) => parseInt(byte, 16))));

export async function presignPut(
  bucket: S3Bucket,
  key: string,
  { contentType, sha256, now = new Date() }: { contentType?: string; sha256?: string; now?: Date },
): Promise<PresignedPut> {
  const url = new URL(`${bucket.endpoint}/${bucket.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`);
  url.searchParams.set('X-Amz-Expires', String(bucket.ttlSeconds));
  const headers: Record<string, string> = {
    ...(contentType && { 'content-type': contentType }),
    ...(sha256 && HEX_SHA256.test(sha256) && { 'x-amz-checksum-sha256': base64OfHex(sha256) }),
  };
  const signer = new AwsV4Signer({
    method: 'PUT',
    url: url.toString(),
    headers,
    accessKeyId: bucket.accessKeyId,
    secretAccessKey: bucket.secretAccessKey,
    service: 's3',
    region: 'auto',
    signQuery: true,
    allHeaders: true,
    datetime: now.toISOString().replace(/[:-]|\.\d{3}/g, ''),
  });
  const signed = await signer.sign();
  return { url: signed.url.toString(), headers, expiresAt: new Date(now.getTime() + bucket.ttlSeconds * 1000).toISOString() };
}
