/**
 * API tokens: created with scopes and an optional project prefix, stored as SHA-256 digests,
 * revocable. A token restricted to a prefix that holds `admin` manages the tokens within its
 * prefix only, and can't mint a token wider than itself. The wire shapes derive from the table.
 */
import { z } from '@hono/zod-openapi';
import { and, asc, eq, isNull, or, sql, type SQL } from 'drizzle-orm';
import { createInsertSchema, createSelectSchema } from 'drizzle-zod';
import type { Db } from '../db/client';
import { apiTokens } from '../db/schema';
import { toBase64url } from '../lib/base64url';
import { databaseFailure } from '../lib/database-failure';
import { sha256Hex } from '../lib/digest';
import { ApiError, notFound } from '../lib/problem';
import type { KnownCallers } from './known-callers';
import { actingGrants, prefixWithin, scopesImply, singleGrant, SCOPES, type Caller, type Principal, type Scope } from './principal';

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
  return `qab_${toBase64url(bytes)}`;
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

/** Tokens whose prefix lies within `prefix` (every token: `null`). */
function tokensWithin(prefix: string | null): SQL | undefined {
  if (prefix === null) return undefined;
  return prefix.endsWith('/')
    ? sql`starts_with(${apiTokens.project_prefix}, ${prefix})`
    : sql`(${apiTokens.project_prefix} = ${prefix} OR starts_with(${apiTokens.project_prefix}, ${`${prefix}/`}))`;
}

/** The tokens a caller manages: those within one of its `admin` grants (this route needs `admin`). */
function managedBy(caller: Caller): SQL | undefined {
  const prefixes = actingGrants(caller).map((grant) => grant.projectPrefix);
  if (prefixes.includes(null)) return undefined;
  return or(...prefixes.map(tokensWithin)) ?? sql`false`;
}

const quoted = (prefixes: (string | null)[]) => prefixes.map((p) => `\`${p}\``).join(', ');

/** Creates a token no wider than one of its creator's grants; the plaintext is in the result only — it can't be recovered later. */
export async function createToken(db: Db, caller: Caller, spec: NewToken): Promise<TokenInfo & { token: string }> {
  const prefix = spec.project_prefix ?? null;
  const covering = actingGrants(caller).filter((grant) => prefixWithin(prefix, grant.projectPrefix));
  if (!covering.length) {
    const prefixes = actingGrants(caller).map((grant) => grant.projectPrefix);
    throw new ApiError(403, `This credential may only create tokens restricted to projects under ${quoted(prefixes)}.`);
  }
  const wider = spec.scopes.find((scope) => !covering.some((grant) => scopesImply(grant.scopes, scope)));
  if (wider) throw new ApiError(403, `This credential lacks the \`${wider}\` scope, so it can't grant it.`);
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
 * The principal a presented token stands for, or undefined when it is unknown or revoked. The token
 * is looked up by its digest: an attacker can't steer the digest's bytes, so the index comparison
 * leaks nothing usable about stored tokens (the bootstrap token is compared in constant time).
 * While the database is unavailable (or known to be: `databaseDown`), the principal the token stood
 * for when last verified answers instead, so that uploads can still be spooled.
 */
export async function principalOfToken(db: Db, token: string, known: KnownCallers, databaseDown: boolean): Promise<Principal | undefined> {
  const digest = await sha256Hex(token);
  if (databaseDown && known.recall(digest)) return known.recall(digest);
  try {
    const [row] = await db
      .select({ id: apiTokens.id, scopes: apiTokens.scopes, project_prefix: apiTokens.project_prefix })
      .from(apiTokens)
      .where(and(eq(apiTokens.digest, digest), isNull(apiTokens.revoked_at)));
    const principal = row && singleGrant(`token:${row.id}`, row.scopes as Scope[], row.project_prefix);
    known.remember(digest, principal);
    return principal;
  } catch (error) {
    const recalled = databaseFailure(error)?.unavailable ? known.recall(digest) : undefined;
    if (recalled) return recalled;
    throw error;
  }
}
