/**
 * Signing in, each way ending in a new session (a new secret: a session id planted before sign-in
 * is never promoted):
 * - local users with a password (lockout per user name and per address, constant-time checks,
 *   one answer for an unknown user and a wrong password);
 * - GitLab: the OAuth round trip's state and PKCE verifier wait in a short-lived cookie; the
 *   callback checks the state, trades the code (GitLab checks the verifier), reads the user and
 *   their memberships with the user's new token.
 */
import { ArcticFetchError, OAuth2RequestError, UnexpectedErrorResponseBodyError, UnexpectedResponseError } from 'arctic';
import { timingSafeEqual } from 'hono/utils/buffer';
import { createLocalUser, findLocalUser, updatePasswordHash, upsertGitLabUser, type UserRow } from '../domain/users/users';
import { fromBase64url, toBase64url } from '../lib/base64url';
import type { AppConfig } from '../config';
import { ApiError, serviceUnavailable } from '../lib/problem';
import { authorizationRequest, exchangeCode, gitlabAsUser, membershipGrants, revokeTokens, type GitLabSignInConfig } from './gitlab-sign-in';
import { hashPassword, needsRehash, verifyPassword } from './passwords';
import { endSession, startSession, type SessionServices } from './sessions';
import { originOf } from './csrf';
import { admitAttempt, checkNotLockedOut, clearUserFailures, recordSignInFailure } from './sign-in-throttle';
import { gitlabFailure } from '../gitlab/api-errors';

export interface NewSignIn {
  user: UserRow;
  /** The new session's secret, for the cookie. */
  secret: string;
}

/** The original's answer for a failed sign-in, which the web app shows next to the password field. */
const INVALID_CREDENTIALS = 'invalid-password';

export async function signInWithPassword(
  services: SessionServices,
  attempt: { userName: string; password: string; address: string; userAgent: string | undefined },
): Promise<NewSignIn> {
  const { db, config } = services;
  const subjects = { userName: attempt.userName, address: attempt.address };
  await checkNotLockedOut(db, subjects);
  await admitAttempt(db, attempt.address, config.localUsers.attemptsPerMinute);
  const user = await findLocalUser(db, attempt.userName);
  // Unknown users cost the same hashing as known ones (verifyPassword), and get the same answer.
  if (!(await verifyPassword(attempt.password, user?.password_hash)) || !user) {
    await recordSignInFailure(db, subjects);
    throw new ApiError(403, INVALID_CREDENTIALS);
  }
  await clearUserFailures(db, subjects);
  if (needsRehash(user.password_hash!)) await updatePasswordHash(db, user.id, await hashPassword(attempt.password));
  return { user, secret: await startSession(services, { userId: user.id, userAgent: attempt.userAgent }) };
}

export interface SignUp {
  user_name: string;
  full_name: string;
  email: string;
  password: string;
}

/** Creates a local user with the configured scopes (only when LOCAL_SIGNUP=true); counts as a sign-in attempt of `address`. */
export async function signUp({ db, config }: SessionServices, form: SignUp, address: string): Promise<UserRow> {
  if (!config.localUsers.signup) throw new ApiError(403, 'Sign-up is disabled on this server (LOCAL_SIGNUP).');
  await admitAttempt(db, address, config.localUsers.attemptsPerMinute);
  const { password, ...profile } = form;
  const user = await createLocalUser(db, { ...profile, password_hash: await hashPassword(password), scopes: config.localUsers.scopes });
  if (!user) throw new ApiError(403, 'ERROR: The email or user name already exists.');
  return user;
}

/** The OAuth round trip's state, PKCE verifier and where to go afterwards, as one cookie value. */
export const PENDING_SIGN_IN_COOKIE = '__Host-qaboard-gitlab-sign-in';
const PENDING_SIGN_IN_SECONDS = 600;

export function startGitLabSignIn(config: GitLabSignInConfig, next: string) {
  const { url, state, codeVerifier } = authorizationRequest(config);
  const value = `${state}.${codeVerifier}.${toBase64url(new TextEncoder().encode(next))}`;
  return { url, cookie: `${PENDING_SIGN_IN_COOKIE}=${value}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${PENDING_SIGN_IN_SECONDS}` };
}

export const clearedPendingSignInCookie = () => `${PENDING_SIGN_IN_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;

function pendingSignIn(cookie: string | undefined) {
  const [state, codeVerifier, next] = (cookie ?? '').split('.');
  if (!state || !codeVerifier || next === undefined) return undefined;
  try {
    return { state, codeVerifier, next: new TextDecoder().decode(fromBase64url(next)) };
  } catch {
    return undefined;
  }
}

/** Why GitLab's token endpoint failed: it refused (the code or the verifier is wrong), or couldn't be used. */
function tokenExchangeFailure(error: unknown): Error {
  if (error instanceof OAuth2RequestError) return new ApiError(401, `GitLab refused the authorization code (${error.code}); sign in again.`);
  if (error instanceof ArcticFetchError) return serviceUnavailable('GitLab could not be reached; retry shortly.', 5);
  if (error instanceof UnexpectedResponseError || error instanceof UnexpectedErrorResponseBodyError) {
    return new ApiError(502, `GitLab's token endpoint answered ${error.status} unexpectedly.`);
  }
  return error as Error;
}

/** The callback: checks the state, then signs the GitLab user in. `next` is where the pending sign-in wanted to go. */
export async function finishGitLabSignIn(
  services: SessionServices,
  callback: { code: string; state: string; pendingCookie: string | undefined; userAgent: string | undefined },
): Promise<NewSignIn & { next: string }> {
  const gitlab = services.config.gitlabSignIn!;
  const pending = pendingSignIn(callback.pendingCookie);
  if (!pending || !(await timingSafeEqual(pending.state, callback.state))) {
    throw new ApiError(400, 'The sign-in state does not match this browser’s: start again from /api/v1/user/login/gitlab.');
  }
  const tokens = await exchangeCode(gitlab, callback.code, pending.codeVerifier).catch((error) => {
    throw tokenExchangeFailure(error);
  });
  const api = gitlabAsUser(gitlab, tokens);
  const [profile, grants] = await Promise.all([api.currentUser(), membershipGrants(api, gitlab.roleScopes)]).catch((error) => {
    throw gitlabFailure(error);
  });
  if (profile.state && profile.state !== 'active') throw new ApiError(403, `Your GitLab account is ${profile.state}.`);
  const user = await upsertGitLabUser(services.db, {
    gitlab_id: profile.id,
    user_name: profile.username,
    full_name: profile.name,
    email: profile.email ?? null,
    avatar_url: profile.avatar_url ?? null,
  });
  const secret = await startSession(services, { userId: user.id, userAgent: callback.userAgent, gitlab: { tokens, grants } });
  return { user, secret, next: pending.next };
}

/** Ends the session of `secret` (if any), and asks GitLab to revoke its token (best effort). */
export async function signOut(services: SessionServices, secret: string | undefined): Promise<void> {
  if (!secret) return;
  const ended = await endSession(services.db, secret);
  const gitlab = services.config.gitlabSignIn;
  if (!gitlab || !ended?.gitlabTokens) return;
  await revokeTokens(gitlab, ended.gitlabTokens).catch((error: Error) =>
    services.logger.log('warn', { message: 'GitLab did not revoke a signed-out token', error: error.message }),
  );
}

/** A stand-in origin to resolve `next` against: what resolves to it is a path of this server. */
const THIS_SERVER = 'https://this-server.invalid';

/**
 * Where to send the browser after a GitLab sign-in: a path of this server, or a URL on the web
 * app's origins (CORS_ORIGINS, PUBLIC_URL) — never elsewhere (no open redirect). Default: the web app.
 * `next` is read with the URL parser browsers use (which drops tabs and newlines and takes `\` for
 * `/`, so `/\t/evil` is `//evil`), and answered as that parser writes it: percent-encoded ASCII
 * that a Location header can always carry.
 */
export function signInDestination(next: string | undefined, config: Pick<AppConfig, 'corsOrigins' | 'publicUrl'>): string {
  const fallback = config.corsOrigins[0] ? `${config.corsOrigins[0]}/` : '/';
  if (!next) return fallback;
  let url: URL;
  try {
    url = new URL(next, THIS_SERVER);
  } catch {
    return fallback;
  }
  if (url.origin === THIS_SERVER) return next.startsWith('/') ? `${url.pathname}${url.search}${url.hash}` : fallback;
  const isAbsolute = /^https?:\/\//i.test(next);
  return isAbsolute && [...config.corsOrigins, originOf(config.publicUrl)].includes(url.origin) ? url.href : fallback;
}
