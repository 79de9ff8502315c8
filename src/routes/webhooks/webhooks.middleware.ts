import { createMiddleware } from 'hono/factory';
import { PUSH_EVENTS } from '../../gitlab/push-event';
import type { AppBindings } from '../../lib/create-app';
import { constantTimeEqual } from '../../lib/constant-time';
import { problem, problemResponse } from '../../lib/problem';

/** Only GitLab (which knows the shared secret) may post; nothing else is read before this passes. */
export const verifyGitLabToken = createMiddleware<AppBindings>(async (c, next) => {
  const secret = c.var.config.gitlabWebhookSecret;
  if (!secret || !c.var.gitlabQueue) {
    return problemResponse(problem(503, 'Service Unavailable', 'The GitLab integration is not configured on this server.'));
  }
  const token = c.req.header('x-gitlab-token') ?? '';
  if (!(await constantTimeEqual(token, secret))) {
    return problemResponse(problem(401, 'Unauthorized', 'Missing or wrong X-Gitlab-Token.', { instance: c.req.path }));
  }
  await next();
});

/** GitLab disables hooks that fail: events we don't handle get a 2xx that says so. */
export const acceptPushEvents = createMiddleware<AppBindings>(async (c, next) => {
  const event = c.req.header('x-gitlab-event') ?? '';
  if (!PUSH_EVENTS.includes(event)) {
    return c.json({ status: 'ignored' as const, reason: `${event || 'an event without X-Gitlab-Event'} is not handled` }, 200);
  }
  await next();
});
