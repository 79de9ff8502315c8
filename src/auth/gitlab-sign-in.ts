/**
 * GitLab sign-in: OAuth 2.0 authorization code with PKCE (S256) through arctic's OAuth2Client —
 * arctic's `GitLab` provider sends no code challenge, so its endpoints are named here — and what a
 * signed-in user may reach: the projects they are a member of on GitLab, each with the scope their
 * role maps to (`GITLAB_ROLE_SCOPES`).
 */
import { CodeChallengeMethod, generateCodeVerifier, generateState, OAuth2Client, type OAuth2Tokens } from 'arctic';
import type { AppConfig } from '../config';
import { GitLabClient } from '../gitlab/client';
import type { Grant } from './principal';

export type GitLabSignInConfig = NonNullable<AppConfig['gitlabSignIn']>;

/** A user's GitLab OAuth tokens, as sealed into their session (session-secrets.ts). */
export interface GitLabTokens {
  accessToken: string;
  refreshToken: string | null;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Projects listed per role at most (100 per page): bounds the work of one membership refresh. */
const MAX_MEMBERSHIP_PAGES = 50;
/** Refresh an access token this long before GitLab says it expires. */
const EXPIRY_MARGIN_MS = 60_000;

const oauthClient = (config: GitLabSignInConfig) => new OAuth2Client(config.clientId, config.clientSecret, config.redirectUri);
const endpoint = (config: GitLabSignInConfig, name: 'authorize' | 'token' | 'revoke') => `${config.url}/oauth/${name}`;

/** Where to send the browser, and the state and PKCE verifier to keep until it comes back. */
export function authorizationRequest(config: GitLabSignInConfig) {
  const state = generateState();
  const codeVerifier = generateCodeVerifier();
  const url = oauthClient(config).createAuthorizationURLWithPKCE(endpoint(config, 'authorize'), state, CodeChallengeMethod.S256, codeVerifier, config.oauthScopes);
  return { url, state, codeVerifier };
}

function tokensOf(tokens: OAuth2Tokens, previous?: GitLabTokens): GitLabTokens {
  const data = tokens.data as { expires_in?: unknown };
  // GitLab access tokens live 2 h; without `expires_in`, assume that.
  const expiresInMs = typeof data.expires_in === 'number' ? data.expires_in * 1000 : 7_200_000;
  return {
    accessToken: tokens.accessToken(),
    refreshToken: tokens.hasRefreshToken() ? tokens.refreshToken() : (previous?.refreshToken ?? null),
    expiresAt: Date.now() + expiresInMs,
  };
}

/** Trades the callback's code (and the verifier kept since the redirect) for tokens; GitLab checks the verifier. */
export async function exchangeCode(config: GitLabSignInConfig, code: string, codeVerifier: string): Promise<GitLabTokens> {
  return tokensOf(await oauthClient(config).validateAuthorizationCode(endpoint(config, 'token'), code, codeVerifier));
}

/** Tokens good for a while yet: refreshed when about to expire. `changed` tells whether to store them again. */
export async function freshTokens(config: GitLabSignInConfig, tokens: GitLabTokens): Promise<{ tokens: GitLabTokens; changed: boolean }> {
  if (tokens.expiresAt - EXPIRY_MARGIN_MS > Date.now() || !tokens.refreshToken) return { tokens, changed: false };
  const refreshed = await oauthClient(config).refreshAccessToken(endpoint(config, 'token'), tokens.refreshToken, []);
  return { tokens: tokensOf(refreshed, tokens), changed: true };
}

/** Sign-out: GitLab forgets the tokens too (best effort — the session is gone either way). */
export async function revokeTokens(config: GitLabSignInConfig, tokens: GitLabTokens): Promise<void> {
  await oauthClient(config).revokeToken(endpoint(config, 'revoke'), tokens.accessToken);
}

/** The GitLab API with the user's rights (not the server's). */
export const gitlabAsUser = (config: GitLabSignInConfig, tokens: GitLabTokens) =>
  new GitLabClient({ url: config.url, token: tokens.accessToken, tokenKind: 'oauth', timeoutMs: config.timeoutMs });

/**
 * The grants of a user's memberships: each project where their role maps to a scope, with the
 * highest one (roles are listed highest first; a project is taken at the first role that lists it).
 * `min_access_level` counts memberships inherited from groups, which per-project `permissions` don't.
 */
export async function membershipGrants(gitlab: GitLabClient, roleScopes: GitLabSignInConfig['roleScopes']): Promise<Grant[]> {
  const scopeOf = new Map<string, Grant['scopes'][number]>();
  for (const { minAccessLevel, scope } of roleScopes) {
    for (const path of await gitlab.projectPathsWithAccess(minAccessLevel, MAX_MEMBERSHIP_PAGES)) {
      if (!scopeOf.has(path)) scopeOf.set(path, scope);
    }
  }
  return [...scopeOf].map(([projectPrefix, scope]) => ({ projectPrefix, scopes: [scope] }));
}
