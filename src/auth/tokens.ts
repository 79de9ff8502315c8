/**
 * API tokens: created with scopes and an optional project prefix, stored as SHA-256 digests,
 * revocable. A token restricted to a prefix that holds `admin` manages the tokens within its
 * prefix only, and can't mint a token wider than itself. The wire shapes derive from the table.
 */
import { z } from '@hono/zod-openapi';
import { and, asc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { createInsertSchema, createSelectSchema } from 'drizzle-zod';
import type { Db } from '../db/client';
import { apiTokens } from '../db/schema';
import { databaseFailure } from '../lib/database-failure';
import { sha256Hex } from '../lib/digest';
import { ApiError, notFound } from '../lib/problem';
import type { KnownCallers } from './known-callers';
import { hasScope, prefixWithin, SCOPES, type Caller, type Scope } from './principal';

const scopes = z.array(z.enum(SCOPES));

export const tokenInfoSchema = createSelectSchema(apiTokens, {
  scopes,
  project_prefix: (column) => column.openapi({ description: 'Only projects equal to it or under it (`group/repo` → `group/repo/sub`).' }),
  created_at: (column) => column.openapi({ format: 'date-time' }),
  revoked_at: (column) => column.openapi({ format: 'date-time' }),
})
  .omit({ digest: true })
  .openapi('ApiToken', {
    example: { id: 7, name: 'ci-runner group/repo', scopes: ['write'], project_prefix: 'group/repo', created_at: '2026-11-29T08:16:00.123+00:00', revoked_at: null },
  });
export type TokenInfo = z.infer<typeof tokenInfoSchema>;

export const newTokenSchema = createInsertSchema(apiTokens, {
  name: (column) => column.min(1).max(200).openapi({ example: 'ci-runner group/repo' }),
  scopes: scopes.min(1).max(3).openapi({ description: '`admin` implies `write`, which implies `read`.' }),
  project_prefix: (column) => column.min(1).max(512).openapi({ example: 'group/repo' }),
})
  .pick({ name: true, scopes: true, project_prefix: true })
  .openapi('NewApiToken', { example: { name: 'ci-runner group/repo', scopes: ['write'], project_prefix: 'group/repo' } });
export type NewToken = z.infer<typeof newTokenSchema>;

/** 32 random bytes, base64url, with a prefix that secret scanners (and people) recognise. */
function newPlaintextToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `qab_${btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`;
}

/** Timestamps as ISO 8601, whatever the driver's text format. */
const infoColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  scopes: apiTokens.scopes,
  project_prefix: apiTokens.project_prefix,
  created_at: sql<string>`to_json(${apiTokens.created_at})#>>'{}'`,
  revoked_at: sql<string | null>`to_json(${apiTokens.revoked_at})#>>'{}'`,
};

/** The tokens a caller manages: all, or those whose prefix lies within the caller's. */
function managedBy(caller: Caller): SQL | undefined {
  const prefix = caller.projectPrefix;
  if (prefix === null) return undefined;
  return prefix.endsWith('/')
    ? sql`starts_with(${apiTokens.project_prefix}, ${prefix})`
    : sql`(${apiTokens.project_prefix} = ${prefix} OR starts_with(${apiTokens.project_prefix}, ${`${prefix}/`}))`;
}

/** Creates a token no wider than its creator; the plaintext is in the result only — it can't be recovered later. */
export async function createToken(db: Db, caller: Caller, spec: NewToken): Promise<TokenInfo & { token: string }> {
  const prefix = spec.project_prefix ?? null;
  if (!prefixWithin(prefix, caller.projectPrefix)) {
    throw new ApiError(403, `This token may only create tokens restricted to projects under \`${caller.projectPrefix}\`.`);
  }
  const wider = spec.scopes.find((scope) => !hasScope(caller, scope));
  if (wider) throw new ApiError(403, `This token lacks the \`${wider}\` scope, so it can't grant it.`);
  const token = newPlaintextToken();
  const [row] = await db
    .insert(apiTokens)
    .values({ name: spec.name, digest: await sha256Hex(token), scopes: [...new Set(spec.scopes)], project_prefix: prefix })
    .returning(infoColumns);
  return { ...(row as TokenInfo), token };
}

export async function listTokens(db: Db, caller: Caller): Promise<TokenInfo[]> {
  return (await db.select(infoColumns).from(apiTokens).where(managedBy(caller)).orderBy(asc(apiTokens.id))) as TokenInfo[];
}

export async function revokeToken(db: Db, caller: Caller, id: number): Promise<TokenInfo> {
  const [row] = await db
    .update(apiTokens)
    .set({ revoked_at: sql`COALESCE(${apiTokens.revoked_at}, now())` })
    .where(and(eq(apiTokens.id, id), managedBy(caller)))
    .returning(infoColumns);
  if (!row) throw notFound(`There is no token ${id}.`);
  return row as TokenInfo;
}

/**
 * The caller a presented token stands for, or undefined when it is unknown or revoked. The token
 * is looked up by its digest: an attacker can't steer the digest's bytes, so the index comparison
 * leaks nothing usable about stored tokens (the bootstrap token is compared in constant time).
 * While the database is unavailable (or known to be: `databaseDown`), the caller the token stood
 * for when last verified answers instead, so that uploads can still be spooled.
 */
export async function callerOfToken(db: Db, token: string, known: KnownCallers, databaseDown: boolean): Promise<Caller | undefined> {
  const digest = await sha256Hex(token);
  if (databaseDown && known.recall(digest)) return known.recall(digest);
  try {
    const [row] = await db
      .select({ id: apiTokens.id, scopes: apiTokens.scopes, project_prefix: apiTokens.project_prefix })
      .from(apiTokens)
      .where(and(eq(apiTokens.digest, digest), isNull(apiTokens.revoked_at)));
    const caller = row && { id: `token:${row.id}`, scopes: row.scopes as Scope[], projectPrefix: row.project_prefix };
    known.remember(digest, caller);
    return caller;
  } catch (error) {
    const recalled = databaseFailure(error)?.unavailable ? known.recall(digest) : undefined;
    if (recalled) return recalled;
    throw error;
  }
}
