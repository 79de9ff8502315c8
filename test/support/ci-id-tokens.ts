/**
 * GitLab CI id_tokens for tests: an RS256 key pair standing for the GitLab instance's signing key
 * (its public half served by the fake GitLab's JWKS endpoint), and tokens with GitLab's claims.
 * Web APIs only, so tests inside workerd sign with it too.
 */
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function newSigningKey(kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

export interface CiTokenSpec {
  issuer: string;
  audience: string;
  project_path: string;
  ref?: string;
  ref_protected?: 'true' | 'false';
  /** Seconds from now (negative: already expired). */
  expiresIn?: number;
}

/** A token as GitLab issues for `id_tokens:` (claims of docs.gitlab.com/ci/secrets/id_token_authentication). */
export async function signCiIdToken(key: SigningKey, spec: CiTokenSpec): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const ref = spec.ref ?? 'master';
  return new SignJWT({
    namespace_path: spec.project_path.split('/')[0],
    project_path: spec.project_path,
    project_id: '1207',
    pipeline_id: '991',
    job_id: '4242',
    ref,
    ref_type: 'branch',
    ref_protected: spec.ref_protected ?? 'true',
    user_login: 'ci-bot',
  })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(spec.issuer)
    .setAudience(spec.audience)
    .setSubject(`project_path:${spec.project_path}:ref_type:branch:ref:${ref}`)
    .setIssuedAt(now - 60)
    .setNotBefore(now - 60)
    .setExpirationTime(now + (spec.expiresIn ?? 300))
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

const base64urlJson = (value: object) => btoa(JSON.stringify(value)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

/** The same claims, unsigned (`alg: none`): must be refused. */
export function unsignedCopy(jwt: string): string {
  const payload = jwt.split('.')[1]!;
  return `${base64urlJson({ alg: 'none', typ: 'JWT' })}.${payload}.`;
}

/** The token with another project in its claims and the original signature: must be refused. */
export function tamperedCopy(jwt: string, project_path: string): string {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const claims = JSON.parse(atob(payload.replaceAll('-', '+').replaceAll('_', '/')));
  return `${header}.${base64urlJson({ ...claims, project_path })}.${signature}`;
}
