/**
 * Web-app sessions: a random secret in an HttpOnly, Secure, SameSite=Lax cookie, its digest in the
 * `sessions` table. A session ends after `SESSION_IDLE_HOURS` without use (sliding: each use moves
 * the end forward, written at most once a minute) and `SESSION_MAX_HOURS` after sign-in in any case;
 * signing out deletes it.
 *
 * A session carries scopes and project restrictions as a token does: a local user's are on their
 * row; a GitLab user's come from their memberships, cached in the session and refreshed from GitLab
 * (with the user's own token) once `GITLAB_MEMBERSHIP_TTL_SECONDS` have passed — by one request,
 * which claims the refresh; the others meanwhile use the cached grants. When GitLab can't be
 * reached, cached grants serve for up to 12 TTLs, then requests get 503; when GitLab refuses the
 * user's token (revoked, user blocked), the session ends.
 */
import { OAuth2RequestError } from 'arctic';
import { and, eq, lte, sql } from 'drizzle-orm';
import type { AppConfig } from '../config';
import type { Db } from '../db/client';
import { sessions, users } from '../db/schema';
import type { UserRow } from '../domain/users/users';
import { GitLabError } from '../gitlab/client';
import type { Logger } from '../lib/logger';
import { serviceUnavailable } from '../lib/problem';
import { SESSION_COOKIE } from './credentials';
import { freshTokens, gitlabAsUser, membershipGrants, type GitLabTokens } from './gitlab-sign-in';
import { singleGrant, type Grant, type Principal, type Scope } from './principal';
import { isSessionSecret, newSessionSecret, openForSession, sealForSession, sessionDigest } from './session-secrets';

/** What session handling needs of the request's services. */
export interface SessionServices {
  db: Db;
  config: AppConfig;
  logger: Logger;
}

const seconds = (n: number) => sql`make_interval(secs => ${n})`;
/** Sliding expiry is written at most this often per session (a write per request would cost more than the read). */
const TOUCH_EVERY = sql.raw(`interval '60 seconds'`);
/** How long one request holds the claim to refresh a session's memberships. */
const REFRESH_LEASE_SECONDS = 30;
/** Cached grants outlive their TTL by this factor while GitLab can't be asked. */
const STALE_GRANTS_FACTOR = 12;

export const sessionCookie = (secret: string, maxSeconds: number) =>
  `${SESSION_COOKIE}=${secret}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${maxSeconds}`;
export const clearedSessionCookie = () => `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;

export interface NewSession {
  userId: number;
  userAgent: string | undefined;
  /** GitLab sign-in: the user's tokens and the grants their memberships give now. */
  gitlab?: { tokens: GitLabTokens; grants: Grant[] };
}

/** Starts a session; the secret is for the cookie only (the table keeps its digest). */
export async function startSession({ db, config }: SessionServices, session: NewSession): Promise<string> {
  const secret = newSessionSecret();
  const digest = await sessionDigest(secret);
  const { idleSeconds, maxSeconds } = config.sessions;
  const ttlSeconds = config.gitlabSignIn?.membershipTtlSeconds ?? 0;
  await db.insert(sessions).values({
    digest,
    user_id: session.userId,
    user_agent: session.userAgent?.slice(0, 512) ?? null,
    expires_at: sql`now() + ${seconds(Math.min(idleSeconds, maxSeconds))}`,
    ...(session.gitlab && {
      gitlab_tokens: await sealForSession(secret, digest, session.gitlab.tokens),
      grants: session.gitlab.grants as { projectPrefix: string | null; scopes: string[] }[],
      grants_fetched_at: sql`now()`,
      grants_refresh_after: sql`now() + ${seconds(ttlSeconds)}`,
    }),
  });
  return secret;
}

/** Ends a session; what it held, to revoke the GitLab tokens too. */
export async function endSession(db: Db, secret: string): Promise<{ gitlabTokens: GitLabTokens | undefined } | undefined> {
  if (!isSessionSecret(secret)) return undefined;
  const digest = await sessionDigest(secret);
  const [row] = await db.delete(sessions).where(eq(sessions.digest, digest)).returning({ gitlab_tokens: sessions.gitlab_tokens });
  if (!row) return undefined;
  const gitlabTokens = row.gitlab_tokens ? await openForSession<GitLabTokens>(secret, digest, row.gitlab_tokens).catch(() => undefined) : undefined;
  return { gitlabTokens };
}

interface LoadedSession {
  digest: string;
  user: UserRow;
  gitlabTokens: string | null;
  grants: Grant[] | null;
  grantsDue: boolean;
  grantsUsable: boolean;
  touchDue: boolean;
}

async function loadSession(db: Db, digest: string, staleGrantsSeconds: number): Promise<LoadedSession | undefined> {
  const [row] = await db
    .select({
      user: users,
      gitlabTokens: sessions.gitlab_tokens,
      grants: sessions.grants,
      grantsDue: sql<boolean>`coalesce(${sessions.grants_refresh_after} <= now(), true)`,
      grantsUsable: sql<boolean>`coalesce(${sessions.grants_fetched_at} > now() - ${seconds(staleGrantsSeconds)}, false)`,
      touchDue: sql<boolean>`${sessions.last_seen_at} < now() - ${TOUCH_EVERY}`,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.user_id))
    .where(and(eq(sessions.digest, digest), sql`${sessions.expires_at} > now()`));
  return row && { digest, ...row, grants: row.grants as Grant[] | null };
}

async function touch(db: Db, digest: string, { idleSeconds, maxSeconds }: AppConfig['sessions']) {
  await db
    .update(sessions)
    .set({ last_seen_at: sql`now()`, expires_at: sql`least(${sessions.created_at} + ${seconds(maxSeconds)}, now() + ${seconds(idleSeconds)})` })
    .where(eq(sessions.digest, digest));
}

export interface SignedIn {
  principal: Principal;
  user: UserRow;
}

/** Whether GitLab refused the user's credentials for good: the session can't continue. */
const refusedByGitLab = (error: unknown) =>
  (error instanceof OAuth2RequestError && error.code === 'invalid_grant') ||
  (error instanceof GitLabError && (error.status === 401 || error.status === 403));

/**
 * The signed-in user of a session secret, with what they may reach; `undefined` when the session is
 * unknown, expired or ended (the caller is then anonymous). Throws 503 when a GitLab user's
 * memberships are too old to use and GitLab can't be asked.
 */
export async function signedInUser(services: SessionServices, secret: string): Promise<SignedIn | undefined> {
  if (!isSessionSecret(secret)) return undefined;
  const { db, config } = services;
  const ttlSeconds = config.gitlabSignIn?.membershipTtlSeconds ?? 0;
  const session = await loadSession(db, await sessionDigest(secret), ttlSeconds * STALE_GRANTS_FACTOR);
  if (!session) return undefined;
  if (session.touchDue) await touch(db, session.digest, config.sessions);
  const { user } = session;
  const id = `user:${user.id}`;
  if (user.gitlab_id === null) return { principal: singleGrant(id, user.scopes as Scope[], user.project_prefix), user };
  const grants = await currentGrants(services, secret, session);
  if (!grants) {
    await db.delete(sessions).where(eq(sessions.digest, session.digest));
    return undefined;
  }
  return { principal: { id, grants }, user };
}

/** A GitLab session's grants: cached, or refreshed when due. `undefined`: the session must end. */
async function currentGrants(services: SessionServices, secret: string, session: LoadedSession): Promise<Grant[] | undefined> {
  const { db, config, logger } = services;
  const gitlab = config.gitlabSignIn;
  if (!gitlab || !session.gitlabTokens) return undefined;
  if (!session.grantsDue && session.grants) return session.grants;
  const useCached = () => {
    if (session.grantsUsable && session.grants) return session.grants;
    throw serviceUnavailable('Your GitLab memberships could not be checked; retry shortly.', 5);
  };
  const [claimed] = await db
    .update(sessions)
    .set({ grants_refresh_after: sql`now() + ${seconds(REFRESH_LEASE_SECONDS)}` })
    .where(and(eq(sessions.digest, session.digest), lte(sessions.grants_refresh_after, sql`now()`)))
    .returning({ digest: sessions.digest });
  if (!claimed) return useCached();
  try {
    const tokens = await currentTokens(services, secret, session.digest, session.gitlabTokens);
    const grants = await membershipGrants(gitlabAsUser(gitlab, tokens), gitlab.roleScopes);
    await db
      .update(sessions)
      .set({
        grants: grants as { projectPrefix: string | null; scopes: string[] }[],
        grants_fetched_at: sql`now()`,
        grants_refresh_after: sql`now() + ${seconds(gitlab.membershipTtlSeconds)}`,
      })
      .where(eq(sessions.digest, session.digest));
    return grants;
  } catch (error) {
    if (refusedByGitLab(error)) return undefined;
    logger.log('warn', { message: 'GitLab memberships could not be refreshed', user: session.user.id, error: (error as Error).message });
    return useCached();
  }
}

/**
 * The user's GitLab tokens, refreshed when about to expire (and stored again). When the refresh
 * token was already used — another request of the session refreshed first — theirs are taken.
 */
async function currentTokens(services: SessionServices, secret: string, digest: string, sealed: string): Promise<GitLabTokens> {
  const { db, config } = services;
  const stored = await openForSession<GitLabTokens>(secret, digest, sealed);
  try {
    const { tokens, changed } = await freshTokens(config.gitlabSignIn!, stored);
    if (changed) await db.update(sessions).set({ gitlab_tokens: await sealForSession(secret, digest, tokens) }).where(eq(sessions.digest, digest));
    return tokens;
  } catch (error) {
    if (!(error instanceof OAuth2RequestError)) throw error;
    const [row] = await db.select({ sealed: sessions.gitlab_tokens }).from(sessions).where(eq(sessions.digest, digest));
    if (!row?.sealed || row.sealed === sealed) throw error;
    return openForSession<GitLabTokens>(secret, digest, row.sealed);
  }
}

/**
 * The GitLab tokens of a session, for calls made with the user's rights. `undefined`: not a live
 * GitLab session, or GitLab no longer honours its tokens (the user must sign in again).
 */
export async function gitlabTokensOf(services: SessionServices, secret: string): Promise<GitLabTokens | undefined> {
  if (!isSessionSecret(secret) || !services.config.gitlabSignIn) return undefined;
  const digest = await sessionDigest(secret);
  const [row] = await services.db
    .select({ sealed: sessions.gitlab_tokens })
    .from(sessions)
    .where(and(eq(sessions.digest, digest), sql`${sessions.expires_at} > now()`));
  if (!row?.sealed) return undefined;
  try {
    return await currentTokens(services, secret, digest, row.sealed);
  } catch (error) {
    if (refusedByGitLab(error)) return undefined;
    throw serviceUnavailable(`GitLab could not renew your token (${(error as Error).message}); retry shortly.`, 5);
  }
}
