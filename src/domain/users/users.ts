/**
 * The people who sign in to the web app: local users (a name and a password hash) and GitLab users
 * (known by their GitLab id, their profile refreshed at each sign-in). Access control is src/auth/'s;
 * this module only stores and finds them.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { users } from '../../db/schema';

export type UserRow = typeof users.$inferSelect;

export interface NewLocalUser {
  user_name: string;
  full_name: string;
  email: string;
  password_hash: string;
  scopes: string[];
  project_prefix?: string | null;
}

/** Creates a local user; `undefined` when the name or the email is taken (whatever the case). */
export async function createLocalUser(db: Db, user: NewLocalUser): Promise<UserRow | undefined> {
  const [row] = await db.insert(users).values(user).onConflictDoNothing().returning();
  return row;
}

/** A local user by name, whatever its case. */
export async function findLocalUser(db: Db, userName: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(sql`lower(${users.user_name}) = lower(${userName})`, isNull(users.gitlab_id)));
  return row;
}

export async function updatePasswordHash(db: Db, userId: number, passwordHash: string): Promise<void> {
  await db.update(users).set({ password_hash: passwordHash }).where(eq(users.id, userId));
}

export interface GitLabProfile {
  gitlab_id: number;
  user_name: string;
  full_name: string;
  email: string | null;
  avatar_url: string | null;
}

/** Records a GitLab user at sign-in: created the first time, their profile kept current afterwards. */
export async function upsertGitLabUser(db: Db, profile: GitLabProfile): Promise<UserRow> {
  const { gitlab_id, ...current } = profile;
  const [row] = await db
    .insert(users)
    .values(profile)
    .onConflictDoUpdate({ target: users.gitlab_id, set: current })
    .returning();
  return row!;
}
