import { cookieValue, SESSION_COOKIE } from '../../auth/credentials';
import { clearedSessionCookie, sessionCookie, signedInUser } from '../../auth/sessions';
import {
  clearedPendingSignInCookie,
  finishGitLabSignIn,
  PENDING_SIGN_IN_COOKIE,
  signInDestination,
  signInWithPassword,
  signOut as endSignIn,
  signUp as createLocalAccount,
  startGitLabSignIn,
} from '../../auth/sign-in';
import { meJson, signedInJson } from '../../domain/users/user-json';
import { addressKey } from '../../lib/client-address';
import { ApiError, invalidField, serviceUnavailable } from '../../lib/problem';
import type { AppContext, AppRouteHandler } from '../../lib/types';
import type { GitLabCallback, GitLabSignIn, Me, SignIn, SignOut, SignUp } from './users.routes';

const presentedSecret = (c: AppContext) => cookieValue(c.req.header('cookie'), SESSION_COOKIE);

/** A new session replaces whatever session the browser had. */
async function setNewSession(c: AppContext, secret: string) {
  await endSignIn(c.var, presentedSecret(c));
  c.header('set-cookie', sessionCookie(secret, c.var.config.sessions.maxSeconds), { append: true });
}

export const signIn: AppRouteHandler<SignIn> = async (c) => {
  const { username, password } = c.req.valid('form');
  const { user, secret } = await signInWithPassword(c.var, {
    userName: username,
    password,
    address: addressKey(c.var.clientAddress),
    userAgent: c.req.header('user-agent'),
  });
  await setNewSession(c, secret);
  return c.json(signedInJson(user), 200);
};

export const me: AppRouteHandler<Me> = async (c) => {
  const secret = presentedSecret(c);
  const signedIn = secret ? await signedInUser(c.var, secret) : undefined;
  return c.json(meJson(signedIn?.user), 200);
};

export const signOut: AppRouteHandler<SignOut> = async (c) => {
  await endSignIn(c.var, presentedSecret(c));
  c.header('set-cookie', clearedSessionCookie(), { append: true });
  return c.json({ status: 'OK' as const }, 200);
};

export const signUp: AppRouteHandler<SignUp> = async (c) =>
  c.json({ id: (await createLocalAccount(c.var, c.req.valid('form'), addressKey(c.var.clientAddress))).id }, 200);

const gitlabSignInConfig = (c: AppContext) => {
  const config = c.var.config.gitlabSignIn;
  if (!config) throw serviceUnavailable('GitLab sign-in is not configured on this server (GITLAB_URL, PUBLIC_URL, GITLAB_OAUTH_CLIENT_ID/SECRET).');
  return config;
};

export const gitlabSignIn: AppRouteHandler<GitLabSignIn> = async (c) => {
  const { url, cookie } = startGitLabSignIn(gitlabSignInConfig(c), signInDestination(c.req.valid('query').next, c.var.config));
  c.header('set-cookie', cookie, { append: true });
  return c.redirect(url.toString(), 302);
};

export const gitlabCallback: AppRouteHandler<GitLabCallback> = async (c) => {
  gitlabSignInConfig(c);
  const { code, state, error } = c.req.valid('query');
  if (error) throw new ApiError(401, `GitLab did not authorize the sign-in (${error}).`);
  if (!code) throw invalidField('code', 'GitLab sent no authorization code');
  const signedIn = await finishGitLabSignIn(c.var, {
    code,
    state: state ?? '',
    pendingCookie: cookieValue(c.req.header('cookie'), PENDING_SIGN_IN_COOKIE),
    userAgent: c.req.header('user-agent'),
  });
  c.header('set-cookie', clearedPendingSignInCookie(), { append: true });
  await setNewSession(c, signedIn.secret);
  return c.redirect(signInDestination(signedIn.next, c.var.config), 302); // checked again: it came back through a cookie
};
