/** API tokens: created with scopes and an optional project prefix, stored as SHA-256 digests, revocable. */
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { apiTokens } from '../db/schema';
import { sha256Hex } from '../lib/digest';
import { notFound } from '../lib/problem';
import type { Caller, Scope } from './principal';

/** 32 random bytes, base64url, with a prefix that secret scanners (and people) recognise. */
function newPlaintextToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `qab_${btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`;
}

export interface TokenInfo {
  id: number;
  name: string;
  scopes: Scope[];
  project_prefix: string | null;
  created_at: string;
  revoked_at: string | null;
}

const infoColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  scopes: apiTokens.scopes,
  project_prefix: apiTokens.projectPrefix,
  created_at: sql<string>`to_json(${apiTokens.createdAt})#>>'{}'`,
  revoked_at: sql<string | null>`to_json(${apiTokens.revokedAt})#>>'{}'`,
};

export interface NewToken {
  name: string;
  scopes: Scope[];
  project_prefix?: string | null;
}

/** Creates a token; the plaintext is in the result only — it can't be recovered later. */
export async function createToken(db: Db, spec: NewToken): Promise<TokenInfo & { token: string }> {
  const token = newPlaintextToken();
  const [row] = await db
    .insert(apiTokens)
    .values({ name: spec.name, digest: await sha256Hex(token), scopes: [...new Set(spec.scopes)], projectPrefix: spec.project_prefix ?? null })
    .returning(infoColumns);
  return { ...(row as TokenInfo), token };
}

export async function listTokens(db: Db): Promise<TokenInfo[]> {
  return (await db.select(infoColumns).from(apiTokens).orderBy(asc(apiTokens.id))) as TokenInfo[];
}

export async function revokeToken(db: Db, id: number): Promise<TokenInfo> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: sql`COALESCE(${apiTokens.revokedAt}, now())` })
    .where(eq(apiTokens.id, id))
    .returning(infoColumns);
  if (!row) throw notFound(`There is no token ${id}.`);
  return row as TokenInfo;
}

/**
 * The caller a presented token stands for, or undefined when it is unknown or revoked. The token
 * is looked up by its digest: an attacker can't steer the digest's bytes, so the index comparison
 * leaks nothing usable about stored tokens (the bootstrap token is compared in constant time).
 */
export async function callerOfToken(db: Db, token: string): Promise<Caller | undefined> {
  const [row] = await db
    .select({ id: apiTokens.id, scopes: apiTokens.scopes, projectPrefix: apiTokens.projectPrefix })
    .from(apiTokens)
    .where(and(eq(apiTokens.digest, await sha256Hex(token)), isNull(apiTokens.revokedAt)));
  return row && { id: `token:${row.id}`, scopes: row.scopes as Scope[], projectPrefix: row.projectPrefix };
}
