/**
 * Runtime configuration, read once from Worker bindings (vars and secrets) or `process.env` on Node.
 * Every feature adds its settings here, validated, so a misconfiguration fails at start, not mid-request.
 */
import { z } from 'zod';

const envSchema = z.object({
  /** Largest accepted request body in bytes. */
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  /** Deepest JSON nesting accepted in a request body (the qa CLI's uploads nest about 6 levels). */
  MAX_JSON_DEPTH: z.coerce.number().int().positive().default(32),
  /** Who needs a token: `open` (nobody; embedded default), `write` (writes only), `all`. */
  AUTH_MODE: z.enum(['open', 'write', 'all']).default('open'),
  /** Bootstrap admin token (a secret): creates the first tokens. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Comma-separated origins allowed by CORS (the web app's), e.g. `https://qaboard.example.com`. */
  CORS_ORIGINS: z.string().default(''),
  /** Whether browsers may send cookies/credentials cross-origin. */
  CORS_CREDENTIALS: z.enum(['true', 'false']).default('false'),
  /** Requests per minute per token (per client address without a token), on Node; Workers use the binding's limit. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  /** GitLab instance, e.g. https://gitlab.com; with GITLAB_TOKEN (scope `read_api`) it enables the integration. */
  GITLAB_URL: z.url().optional(),
  GITLAB_TOKEN: z.string().min(1).optional(),
  /** The secret GitLab sends as `X-Gitlab-Token` with webhooks. */
  GITLAB_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** Milliseconds before a GitLab API call is abandoned (and retried later). */
  GITLAB_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Daily backups kept, and Sunday backups kept beyond them. */
  BACKUP_KEEP_DAILY: z.coerce.number().int().positive().default(7),
  BACKUP_KEEP_WEEKLY: z.coerce.number().int().nonnegative().default(4),
  /** Rows per backup part: bounds memory and the size of each R2 put. */
  BACKUP_ROWS_PER_PART: z.coerce.number().int().positive().default(20_000),
  /** Pending/running outputs with no update for this long are marked failed. */
  STALE_RUN_HOURS: z.coerce.number().positive().default(24),
});

export type AppConfig = ReturnType<typeof parseConfig>;

export function parseConfig(env: Record<string, unknown>) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${fields}`);
  }
  const e = parsed.data;
  return {
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxJsonDepth: e.MAX_JSON_DEPTH,
    authMode: e.AUTH_MODE,
    adminToken: e.ADMIN_TOKEN,
    corsOrigins: e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    corsCredentials: e.CORS_CREDENTIALS === 'true',
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    gitlab:
      e.GITLAB_URL && e.GITLAB_TOKEN
        ? { url: e.GITLAB_URL.replace(/\/+$/, ''), token: e.GITLAB_TOKEN, timeoutMs: e.GITLAB_TIMEOUT_MS }
        : undefined,
    gitlabWebhookSecret: e.GITLAB_WEBHOOK_SECRET,
    maintenance: {
      keepDailyBackups: e.BACKUP_KEEP_DAILY,
      keepWeeklyBackups: e.BACKUP_KEEP_WEEKLY,
      rowsPerPart: e.BACKUP_ROWS_PER_PART,
      staleRunHours: e.STALE_RUN_HOURS,
    },
  };
}
