/**
 * The user shapes of the original v1 API (Flask-Login), which the web app reads: `user_id`,
 * `user_name`, `full_name`, `email`, `is_ldap`. The original's sign-in answer lacked `user_id`
 * though the web app reads it; it is added here (next to `id`).
 */
import type { UserRow } from './users';

/** `POST /api/v1/user/auth` */
export const signedInJson = (user: UserRow) => ({
  username: user.user_name,
  user_name: user.user_name,
  full_name: user.full_name,
  email: user.email ?? '',
  is_ldap: false as const,
  login_success: true as const,
  id: user.id,
  user_id: user.id,
});

/** `GET /api/v1/user/me` */
export const meJson = (user: UserRow | undefined) =>
  user
    ? {
        is_authenticated: true as const,
        is_anonymous: false as const,
        is_active: true as const,
        user_id: user.id,
        user_name: user.user_name,
        full_name: user.full_name,
        email: user.email ?? '',
        is_ldap: false as const,
      }
    : { is_authenticated: false as const, is_anonymous: true as const, is_active: false as const };
