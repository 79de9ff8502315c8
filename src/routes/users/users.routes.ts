import { createRoute, z } from '@hono/zod-openapi';
import { requireSameSite } from '../../auth/csrf';
import { boundedText } from '../../lib/fields';
import { errorResponses, jsonContent, problemResponseSpec, statusOkSchema, tooLargeResponse } from '../schemas';

const tags = ['Users (web app)'];
const formContent = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'multipart/form-data': { schema }, 'application/x-www-form-urlencoded': { schema } },
});
const sessionCookieHeader = {
  'Set-Cookie': { description: 'The session cookie (`__Host-qaboard-session`, HttpOnly, Secure, SameSite=Lax).', schema: { type: 'string' as const } },
};
const crossSite = problemResponseSpec('Cross-site request: `Origin` not allowed.');
const password = z.string().min(1).max(1024, 'must be at most 1024 characters');

const signInForm = z.object({ username: boundedText(256), password }).openapi('SignInForm', { example: { username: 'ada', password: 'correct horse battery staple' } });

const signedIn = z
  .object({
    username: z.string(),
    user_name: z.string(),
    full_name: z.string(),
    email: z.string(),
    is_ldap: z.literal(false),
    login_success: z.literal(true),
    id: z.number().int(),
    user_id: z.number().int(),
  })
  .openapi('SignedIn', {
    example: { username: 'ada', user_name: 'ada', full_name: 'Ada Lovelace', email: 'ada@example.com', is_ldap: false, login_success: true, id: 3, user_id: 3 },
  });

export const signIn = createRoute({
  method: 'post',
  path: '/api/v1/user/auth',
  operationId: 'signIn',
  tags,
  summary: 'Sign in with a local user name and password',
  description:
    'Starts a session (cookie). A wrong password and an unknown user get the same 403 `invalid-password`. After 5 failures for a user name, ' +
    'or 20 from an address, further attempts get 429 for 30 s, doubling up to 15 min. LDAP is not available on this server: use GitLab sign-in.',
  middleware: [requireSameSite] as const,
  request: { body: formContent(signInForm) },
  responses: {
    200: { ...jsonContent(signedIn, 'Signed in.'), headers: sessionCookieHeader },
    ...errorResponses,
    403: problemResponseSpec('`invalid-password` (wrong password or unknown user), or a cross-site request.'),
    ...tooLargeResponse,
  },
});

const signedInMe = z
  .object({
    is_authenticated: z.literal(true),
    is_anonymous: z.literal(false),
    is_active: z.literal(true),
    user_id: z.number().int(),
    user_name: z.string(),
    full_name: z.string(),
    email: z.string(),
    is_ldap: z.literal(false),
  })
  .openapi('SignedInUser', {
    example: { is_authenticated: true, is_anonymous: false, is_active: true, user_id: 3, user_name: 'ada', full_name: 'Ada Lovelace', email: 'ada@example.com', is_ldap: false },
  });
const anonymousMe = z
  .object({ is_authenticated: z.literal(false), is_anonymous: z.literal(true), is_active: z.literal(false) })
  .openapi('AnonymousUser', { example: { is_authenticated: false, is_anonymous: true, is_active: false } });

export const me = createRoute({
  method: 'get',
  path: '/api/v1/user/me',
  operationId: 'currentUser',
  tags,
  summary: 'Who the session cookie belongs to',
  description: 'Always 200: the signed-in user, or `is_authenticated: false`.',
  responses: { 200: jsonContent(z.union([signedInMe, anonymousMe]), 'The user, or anonymous.'), ...errorResponses },
});

export const signOut = createRoute({
  method: 'post',
  path: '/api/v1/user/logout',
  operationId: 'signOut',
  tags,
  summary: 'Sign out: ends the session (and revokes its GitLab token)',
  description: 'Always 200 `{"status": "OK"}`, signed in or not; the cookie is cleared.',
  middleware: [requireSameSite] as const,
  responses: { 200: { ...jsonContent(statusOkSchema, 'Signed out.'), headers: sessionCookieHeader }, ...errorResponses, 403: crossSite },
});

const signUpForm = z
  .object({ email: z.email().max(320), user_name: boundedText(256), full_name: boundedText(256, 0).default(''), password: password.min(8, 'must be at least 8 characters') })
  .openapi('SignUpForm', { example: { email: 'ada@example.com', user_name: 'ada', full_name: 'Ada Lovelace', password: 'correct horse battery staple' } });

export const signUp = createRoute({
  method: 'post',
  path: '/api/v1/user/signup',
  operationId: 'signUp',
  tags,
  summary: 'Create a local user (only with LOCAL_SIGNUP=true)',
  description: 'The new user gets the scopes of `LOCAL_USER_SCOPES` (default `read`). It does not sign in.',
  middleware: [requireSameSite] as const,
  request: { body: formContent(signUpForm) },
  responses: {
    200: jsonContent(z.object({ id: z.number().int() }).openapi('SignedUp', { example: { id: 3 } }), 'Created.'),
    ...errorResponses,
    403: problemResponseSpec('Sign-up is disabled, the user name or email is taken, or a cross-site request.'),
    ...tooLargeResponse,
  },
});

const redirect = (description: string) => ({ description, headers: { Location: { description: 'Where to go.', schema: { type: 'string' as const } } } });

export const gitlabSignIn = createRoute({
  method: 'get',
  path: '/api/v1/user/login/gitlab',
  operationId: 'signInWithGitLab',
  tags,
  summary: 'Sign in with GitLab: redirects to GitLab',
  description:
    'OAuth 2.0 authorization code with PKCE. After GitLab, the browser comes back to `/api/v1/user/callback/gitlab`, then goes to `next` ' +
    '(a path of this server, or a URL on an origin of CORS_ORIGINS; default: the web app).',
  request: { query: z.object({ next: z.string().max(2048).optional().openapi({ example: '/vision/isp-pipeline' }) }) },
  responses: { 302: redirect('To GitLab’s authorization page.'), ...errorResponses, 503: problemResponseSpec('GitLab sign-in is not configured.') },
});

export const gitlabCallback = createRoute({
  method: 'get',
  path: '/api/v1/user/callback/gitlab',
  operationId: 'gitlabSignInCallback',
  tags,
  summary: 'Where GitLab sends the browser back',
  description: 'Checks the state against the browser’s, trades the code (GitLab checks the PKCE verifier), signs the user in and redirects to `next`.',
  request: {
    query: z.object({
      code: z.string().max(2048).optional(),
      state: z.string().max(512).optional(),
      error: z.string().max(256).optional().openapi({ description: 'Set by GitLab when the user declined.' }),
    }),
  },
  responses: {
    302: redirect('Signed in: to `next`.'),
    ...errorResponses,
    400: problemResponseSpec('The state does not match the browser’s (or no code).'),
    401: problemResponseSpec('GitLab declined, or refused the code (wrong PKCE verifier, expired code).'),
    403: problemResponseSpec('The GitLab account is blocked.'),
    502: problemResponseSpec('GitLab answered unexpectedly.'),
    503: problemResponseSpec('GitLab sign-in is not configured, or GitLab is unreachable.'),
  },
});

/** Public: they authenticate the user (or need no one), and the cookie-setting writes check their origin themselves. */
export const userRoutes = [signIn, me, signOut, signUp, gitlabSignIn, gitlabCallback];

export type SignIn = typeof signIn;
export type Me = typeof me;
export type SignOut = typeof signOut;
export type SignUp = typeof signUp;
export type GitLabSignIn = typeof gitlabSignIn;
export type GitLabCallback = typeof gitlabCallback;
