import type { GitLabClient, GitLabCommit } from './client';

/**
 * The GitLab avatar of a commit's author, or null. Only cosmetic: a failure to find it (GitLab
 * down, no such user) never fails the job that records the commit.
 */
export async function authorAvatar(gitlab: GitLabClient, commit: GitLabCommit): Promise<string | null> {
  if (!commit.author_email) return null;
  try {
    return (await gitlab.avatarOf(commit.author_email)) ?? null;
  } catch (error) {
    console.warn(JSON.stringify({ level: 'warn', avatar_of: commit.id, error: (error as Error).message }));
    return null;
  }
}
