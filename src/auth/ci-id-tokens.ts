/**
 * Keyless CI uploads: a GitLab CI job proves who it is with an `id_token` (a JWT GitLab signs,
 * requested with `id_tokens:` in .gitlab-ci.yml), sent as the qa CLI sends any token. It is verified
 * with jose against the configured GitLab's keys (JWKS, cached): signature (RS256 only — `alg: none`
 * and HMAC are refused), issuer = GITLAB_URL, audience = PUBLIC_URL, expiry, and the claims
 * `project_path`, `ref`, `ref_protected`. It grants `write` — which implies `read` — on the job's
 * project and its sub-projects (`group/repo` covers `group/repo/sub`), nothing else.
 * Policy (config): only protected refs (`CI_ID_TOKEN_REFS=protected`), only some projects
 * (`CI_ID_TOKEN_PROJECTS`, a must on gitlab.com, where anyone can run a pipeline).
 */
import { errors, jwtVerify } from 'jose';
import type { AppConfig } from '../config';
import { ApiError } from '../lib/problem';
import type { KeySetCache } from './key-set-cache';
import { projectWithin, singleGrant, type Principal } from './principal';

export type CiIdTokenConfig = NonNullable<AppConfig['ciIdTokens']>;

/** What an id_token's verification can conclude, short of a principal. */
export class IdTokenRefused extends Error {}

interface GitLabCiClaims {
  project_path: string;
  ref: string;
  ref_protected: string;
}

/** Clock skew tolerated between GitLab and us. */
const CLOCK_TOLERANCE_SECONDS = 30;

async function verify(config: CiIdTokenConfig, keys: KeySetCache, jwt: string) {
  const options = {
    issuer: config.issuer,
    audience: [config.audience, `${config.audience}/`],
    algorithms: ['RS256'],
    requiredClaims: ['exp', 'iat', 'project_path', 'ref', 'ref_protected'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  };
  try {
    return await jwtVerify<GitLabCiClaims>(jwt, await keys.keySet(config.jwksUrl, { timeoutMs: config.timeoutMs }), options);
  } catch (error) {
    // GitLab rotated its keys: fetch them again (at most every 30 s), then try once more.
    if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
    return jwtVerify<GitLabCiClaims>(jwt, await keys.keySet(config.jwksUrl, { timeoutMs: config.timeoutMs, refresh: true }), options);
  }
}

/** Why a JWT is refused, in words a CI log reader can act on. */
function refusal(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The id_token has expired.';
  if (error instanceof errors.JWTClaimValidationFailed) return `The id_token's \`${error.claim}\` claim is not accepted here (${error.reason}).`;
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return 'The id_token is not signed with RS256.';
  if (error instanceof errors.JWSSignatureVerificationFailed) return "The id_token's signature does not verify.";
  if (error instanceof errors.JWKSNoMatchingKey) return "The id_token was not signed with one of the GitLab's keys.";
  return 'The id_token is not a valid JWT.';
}

/**
 * The principal of a CI job's id_token. Throws `IdTokenRefused` when it isn't one GitLab made for
 * this API (a failed authentication), an ApiError 403 when policy refuses it, 503 when GitLab's
 * keys can't be fetched.
 */
export async function principalOfIdToken(config: CiIdTokenConfig, keys: KeySetCache, jwt: string): Promise<Principal> {
  let claims: GitLabCiClaims;
  try {
    claims = (await verify(config, keys, jwt)).payload;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new IdTokenRefused(refusal(error));
  }
  const { project_path: project, ref, ref_protected: refProtected } = claims;
  if (typeof project !== 'string' || !project || typeof ref !== 'string') throw new IdTokenRefused("The id_token's claims are malformed.");
  if (config.protectedRefsOnly && refProtected !== 'true') {
    throw new ApiError(403, `Only CI jobs on protected refs may upload (CI_ID_TOKEN_REFS=protected); \`${ref}\` is not protected.`);
  }
  if (config.projectPrefixes.length && !config.projectPrefixes.some((prefix) => projectWithin(prefix, project))) {
    throw new ApiError(403, `CI jobs of ${project} may not upload here (CI_ID_TOKEN_PROJECTS).`);
  }
  return singleGrant(`ci:${project}`, ['write'], project);
}
