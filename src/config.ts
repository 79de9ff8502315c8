/**
 * Runtime configuration, read once from Worker bindings (vars and secrets) or `process.env` on Node.
 * Every setting is declared here, validated, so a misconfiguration fails at start, not mid-request.
 * Runtimes differ only in defaults (`RuntimeDefaults`): a deployed Worker is reachable from the
 * internet and defaults to `AUTH_MODE=write`; the embedded Node default is a local tool (`open`).
 */
import { z } from 'zod';

const integer = (min = 1) => z.coerce.number().int().min(min);

const envSchema = z.object({
  /** Postgres connection string. Worker: a secret (Neon's `-pooler` host). Node: absent = embedded PGlite. */
  DATABASE_URL: z.string().min(1).optional(),
  /** Milliseconds to wait for a database connection, and for a statement, before answering 503. */
  DATABASE_CONNECT_TIMEOUT_MS: integer().default(5_000),
  DATABASE_STATEMENT_TIMEOUT_MS: integer().default(20_000),
  /** Worker on Neon: `http` sends one-shot statements over HTTP (sessions only for transactions); `websocket`, a session per request. */
  NEON_TRANSPORT: z.enum(['http', 'websocket']).default('http'),
  /** How long an upload waits for the database before it is spooled (202) instead of written (200). */
  INGEST_DEADLINE_MS: integer().default(3_000),
  /** Database failures in a row that open the circuit, and how long it stays open before a trial. */
  CIRCUIT_FAILURES: integer().default(3),
  CIRCUIT_OPEN_MS: integer().default(5_000),
  /** The deployed git commit, for `/api/v1/version` (e.g. `wrangler deploy --var GIT_SHA:$(git rev-parse HEAD)`). */
  GIT_SHA: z.string().regex(/^[0-9a-f]{7,64}$/, 'must be a git commit id').optional(),
  /** Node entry: where it listens, and where the embedded database, the spool and local backups live. */
  PORT: integer(0).max(65535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  QABOARD_DATA_DIR: z.string().min(1).default('.data'),
  /** Largest accepted request body in bytes. */
  MAX_BODY_BYTES: integer().default(1024 * 1024),
  /** Deepest JSON nesting accepted in a request body (the qa CLI's uploads nest about 6 levels). */
  MAX_JSON_DEPTH: integer().default(32),
  /**
   * Megabytes of batches' outputs, as commits show them, kept in memory per process (Node) or isolate
   * for the next reads (domain/read/commit-details.ts); 0 keeps none. Default: per runtime.
   */
  KEPT_OUTPUTS_MB: integer(0).optional(),
  /** Who needs a token: `open` (nobody), `write` (writes only), `all`. Default: per runtime. */
  AUTH_MODE: z.enum(['open', 'write', 'all']).optional(),
  /** Bootstrap admin token (a secret): creates the first tokens. */
  ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .refine((token) => !token.startsWith('eyJ'), 'must not look like a JWT (bearer JWTs are read as GitLab CI id_tokens)')
    .optional(),
  /** Comma-separated origins allowed by CORS (the web app's), e.g. `https://qaboard.example.com`. */
  CORS_ORIGINS: z.string().default(''),
  /** Whether browsers may send cookies/credentials cross-origin. */
  CORS_CREDENTIALS: z.enum(['true', 'false']).default('false'),
  /** Node: requests per minute per token (per client address without one), ingestion excluded. Workers: the RATE_LIMITER binding. */
  RATE_LIMIT_PER_MINUTE: integer().default(1200),
  /** Node: ingestion uploads per minute per caller; 0 = not limited (the default: the qa CLI doesn't retry a 429). */
  RATE_LIMIT_INGEST_PER_MINUTE: integer(0).default(0),
  /** Node: failed authentications per minute per client address before it is refused for the rest of the minute. */
  AUTH_FAILURES_PER_MINUTE: integer().default(30),
  /**
   * Node: how many reverse proxies in front of the server append to `X-Forwarded-For` (0: none,
   * use the socket's address). Only then is the header trusted, from the right, that many hops.
   */
  TRUST_PROXY: z
    .union([z.enum(['true', 'false']).transform((v) => (v === 'true' ? 1 : 0)), integer(0).max(16)])
    .default(0),
  /**
   * GitLab instance, e.g. https://gitlab.com; with GITLAB_TOKEN it enables the integration. Scope
   * `read_api` reads commits and configs; `api` also dispatches run requests as pipelines.
   */
  GITLAB_URL: z.url().optional(),
  GITLAB_TOKEN: z.string().min(1).optional(),
  /** The secret GitLab sends as `X-Gitlab-Token` with webhooks. */
  GITLAB_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** The web app's base URL (e.g. https://qaboard.example.com): verdicts link to its commit pages. */
  WEB_APP_URL: z.url().optional(),
  /** Milliseconds before a GitLab API call is abandoned (and retried later). */
  GITLAB_TIMEOUT_MS: integer().default(10_000),
  /**
   * The API's public URL, e.g. https://qaboard.example.com: the audience GitLab CI id_tokens must
   * name, the base of the GitLab sign-in redirect URI, and an origin the web app may write from.
   */
  PUBLIC_URL: z.url().optional(),
  /** GitLab sign-in: the OAuth application's id and secret (a secret); redirect URI `<PUBLIC_URL>/api/v1/user/callback/gitlab`. */
  GITLAB_OAUTH_CLIENT_ID: z.string().min(1).optional(),
  GITLAB_OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
  /** OAuth scopes asked of GitLab: `read_api` reads memberships and jobs; `api` also plays manual jobs. */
  GITLAB_OAUTH_SCOPES: z.string().min(1).default('api'),
  /** GitLab role → scope on that project, e.g. `reporter=read,developer=write,maintainer=admin`; roles above the highest listed get its scope. */
  GITLAB_ROLE_SCOPES: z
    .string()
    .default('reporter=read,developer=write,maintainer=admin')
    .transform((text, ctx) => {
      const mapping = parseRoleScopes(text);
      if (typeof mapping === 'string') {
        ctx.addIssue({ code: 'custom', message: mapping });
        return z.NEVER;
      }
      return mapping;
    }),
  /** Seconds a signed-in GitLab user's project memberships are used before GitLab is asked again. */
  GITLAB_MEMBERSHIP_TTL_SECONDS: integer().default(300),
  /** CI id_tokens: `any` ref, or only `protected` refs (`ref_protected`), may upload. */
  CI_ID_TOKEN_REFS: z.enum(['any', 'protected']).default('any'),
  /** CI id_tokens: comma-separated project prefixes whose jobs may upload (e.g. `vision/,tools/qa`); empty: every project of the GitLab. */
  CI_ID_TOKEN_PROJECTS: z.string().default(''),
  /** Local users: whether `POST /api/v1/user/signup` creates accounts, and the scopes new accounts get. */
  LOCAL_SIGNUP: z.enum(['true', 'false']).default('false'),
  LOCAL_USER_SCOPES: z
    .string()
    .default('read')
    .transform((text) => text.split(',').map((scope) => scope.trim()))
    .pipe(z.array(z.enum(['read', 'write', 'admin'])).min(1)),
  /** Password sign-ins and sign-ups one address may attempt a minute (each costs a password hash). */
  SIGN_IN_ATTEMPTS_PER_MINUTE: integer().default(30),
  /** Sessions end after this many hours without a request (sliding), and this many hours after sign-in whatever. */
  SESSION_IDLE_HOURS: z.coerce.number().positive().default(24 * 7),
  SESSION_MAX_HOURS: z.coerce.number().positive().default(24 * 30),
  /** `/api/v1/gitlab/proxy`: the largest image passed through, in bytes. */
  GITLAB_PROXY_MAX_BYTES: integer().default(5 * 1024 * 1024),
  /** Daily backups kept, and Sunday backups kept beyond them. */
  BACKUP_KEEP_DAILY: integer().default(7),
  BACKUP_KEEP_WEEKLY: integer(0).default(4),
  /** Rows per backup part: bounds memory and the size of each R2 put. */
  BACKUP_ROWS_PER_PART: integer().default(20_000),
  /** Pending/running outputs with no update for this long are marked failed. */
  STALE_RUN_HOURS: z.coerce.number().positive().default(24),
  /** Where projects keep their output files unless their qaboard.yaml says (`storage.mode`): a site's `shared-disk`, or `r2`. */
  FILES_STORAGE: z.enum(['shared-disk', 'r2']).default('shared-disk'),
  /** Largest file `PUT /api/v1/output/:id/files/<path>` accepts (larger ones: presigned uploads). */
  FILES_MAX_BYTES: integer().default(100 * 1024 * 1024),
  /** Key of the signed `/s/` URLs of files of projects anonymous callers can't read (a secret); absent: such files need a credential. */
  FILES_URL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How long a signed file URL stays valid. */
  FILES_URL_TTL_SECONDS: integer().default(3600),
  /** Presigned uploads straight to R2's S3 API: the account, an R2 API token's key pair (the secret is a secret), the bucket. */
  R2_ACCOUNT_ID: z.string().regex(/^[0-9a-f]{32}$/, 'must be a Cloudflare account id (32 hex digits)').optional(),
  R2_ACCESS_KEY_ID: z.string().min(1).optional(),
  R2_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  R2_ARTIFACTS_BUCKET: z.string().min(1).default('qaboard-artifacts'),
  /** Tests and S3-compatible stand-ins only: the S3 endpoint instead of `https://<account>.r2.cloudflarestorage.com`. */
  R2_S3_ENDPOINT: z.url().optional(),
  /** How long a presigned upload URL stays valid. */
  R2_PRESIGN_TTL_SECONDS: integer().max(7 * 24 * 3600).default(900),
});

export type AuthMode = 'open' | 'write' | 'all';

/** GitLab's access levels by role name (docs.gitlab.com/api/members/#roles). */
export const GITLAB_ACCESS_LEVELS = { guest: 10, planner: 15, reporter: 20, developer: 30, maintainer: 40, owner: 50 } as const;
type RoleScope = { minAccessLevel: number; scope: 'read' | 'write' | 'admin' };

/** `reporter=read,developer=write` → the lowest access level of each scope, highest first; or what is wrong with it. */
function parseRoleScopes(text: string): RoleScope[] | string {
  const mapping: RoleScope[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [role, scope] = entry.split('=').map((part) => part.trim().toLowerCase());
    const level = GITLAB_ACCESS_LEVELS[role as keyof typeof GITLAB_ACCESS_LEVELS];
    if (!level) return `unknown GitLab role \`${role}\` (one of ${Object.keys(GITLAB_ACCESS_LEVELS).join(', ')})`;
    if (scope !== 'read' && scope !== 'write' && scope !== 'admin') return `\`${entry}\`: the scope must be read, write or admin`;
    mapping.push({ minAccessLevel: level, scope });
  }
  return mapping.sort((a, b) => b.minAccessLevel - a.minAccessLevel);
}

export interface RuntimeDefaults {
  authMode: AuthMode;
  /** `KEPT_OUTPUTS_MB`: a Worker isolate has 128 MB in all. */
  keptOutputsMb: number;
}

export type AppConfig = ReturnType<typeof parseConfig>;

export function parseConfig(env: object, defaults: RuntimeDefaults) {
  // Empty strings (unset vars in a .env file, blank wrangler vars) mean "not set".
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${fields}`);
  }
  const e = parsed.data;
  const gitlabUrl = e.GITLAB_URL?.replace(/\/+$/, '');
  const publicUrl = e.PUBLIC_URL?.replace(/\/+$/, '');
  return {
    databaseUrl: e.DATABASE_URL,
    database: { connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS },
    neonTransport: e.NEON_TRANSPORT,
    ingestion: { deadlineMs: e.INGEST_DEADLINE_MS },
    circuit: { failureThreshold: e.CIRCUIT_FAILURES, openMs: e.CIRCUIT_OPEN_MS },
    node: { port: e.PORT, host: e.HOST, dataDir: e.QABOARD_DATA_DIR },
    gitSha: e.GIT_SHA,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxJsonDepth: e.MAX_JSON_DEPTH,
    keptOutputsBytes: (e.KEPT_OUTPUTS_MB ?? defaults.keptOutputsMb) * 1024 * 1024,
    authMode: e.AUTH_MODE ?? defaults.authMode,
    adminToken: e.ADMIN_TOKEN,
    corsOrigins: e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    corsCredentials: e.CORS_CREDENTIALS === 'true',
    rateLimits: {
      requestsPerMinute: e.RATE_LIMIT_PER_MINUTE,
      ingestPerMinute: e.RATE_LIMIT_INGEST_PER_MINUTE,
      authFailuresPerMinute: e.AUTH_FAILURES_PER_MINUTE,
    },
    trustedProxyHops: e.TRUST_PROXY,
    gitlab: gitlabUrl && e.GITLAB_TOKEN ? { url: gitlabUrl, token: e.GITLAB_TOKEN, timeoutMs: e.GITLAB_TIMEOUT_MS } : undefined,
    publicUrl,
    gitlabSignIn:
      gitlabUrl && publicUrl && e.GITLAB_OAUTH_CLIENT_ID && e.GITLAB_OAUTH_CLIENT_SECRET
        ? {
            url: gitlabUrl,
            clientId: e.GITLAB_OAUTH_CLIENT_ID,
            clientSecret: e.GITLAB_OAUTH_CLIENT_SECRET,
            redirectUri: `${publicUrl}/api/v1/user/callback/gitlab`,
            oauthScopes: e.GITLAB_OAUTH_SCOPES.split(/[\s,]+/).filter(Boolean),
            roleScopes: e.GITLAB_ROLE_SCOPES,
            membershipTtlSeconds: e.GITLAB_MEMBERSHIP_TTL_SECONDS,
            timeoutMs: e.GITLAB_TIMEOUT_MS,
          }
        : undefined,
    ciIdTokens:
      gitlabUrl && publicUrl
        ? {
            issuer: gitlabUrl,
            jwksUrl: `${gitlabUrl}/oauth/discovery/keys`,
            audience: publicUrl,
            protectedRefsOnly: e.CI_ID_TOKEN_REFS === 'protected',
            projectPrefixes: e.CI_ID_TOKEN_PROJECTS.split(',').map((p) => p.trim()).filter(Boolean),
            timeoutMs: e.GITLAB_TIMEOUT_MS,
          }
        : undefined,
    gitlabProxy: gitlabUrl ? { origin: new URL(gitlabUrl).origin, maxBytes: e.GITLAB_PROXY_MAX_BYTES, timeoutMs: e.GITLAB_TIMEOUT_MS } : undefined,
    localUsers: { signup: e.LOCAL_SIGNUP === 'true', scopes: e.LOCAL_USER_SCOPES, attemptsPerMinute: e.SIGN_IN_ATTEMPTS_PER_MINUTE },
    sessions: { idleSeconds: Math.round(e.SESSION_IDLE_HOURS * 3600), maxSeconds: Math.round(e.SESSION_MAX_HOURS * 3600) },
    gitlabWebhookSecret: e.GITLAB_WEBHOOK_SECRET,
    webAppUrl: e.WEB_APP_URL?.replace(/\/+$/, ''),
    files: {
      defaultMode: e.FILES_STORAGE,
      maxBytes: e.FILES_MAX_BYTES,
      urlSecret: e.FILES_URL_SECRET,
      urlTtlSeconds: e.FILES_URL_TTL_SECONDS,
      presign:
        (e.R2_ACCOUNT_ID || e.R2_S3_ENDPOINT) && e.R2_ACCESS_KEY_ID && e.R2_SECRET_ACCESS_KEY
          ? {
              endpoint: (e.R2_S3_ENDPOINT ?? `https://${e.R2_ACCOUNT_ID}.r2.cloudflarestorage.com`).replace(/\/+$/, ''),
              accessKeyId: e.R2_ACCESS_KEY_ID,
              secretAccessKey: e.R2_SECRET_ACCESS_KEY,
              bucket: e.R2_ARTIFACTS_BUCKET,
              ttlSeconds: e.R2_PRESIGN_TTL_SECONDS,
            }
          : undefined,
    },
    maintenance: {
      keepDailyBackups: e.BACKUP_KEEP_DAILY,
      keepWeeklyBackups: e.BACKUP_KEEP_WEEKLY,
      rowsPerPart: e.BACKUP_ROWS_PER_PART,
      staleRunHours: e.STALE_RUN_HOURS,
    },
  };
}
