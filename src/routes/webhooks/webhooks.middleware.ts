import { createMiddleware } from 'hono/factory';
import { timingSafeEqual } from 'hono/utils/buffer';
import { PUSH_EVENTS } from '../../gitlab/push-event';
import { ApiError, serviceUnavailable } from '../../lib/problem';
import type { AppBindings } from '../../lib/types';

/** Only GitLab (which knows the shared secret) may post; nothing else is read before this passes. */
export const verifyGitLabToken = createMiddleware<AppBindings>(async (c, next) => {
  const secret = c.var.config.gitlabWebhookSecret;
  if (!secret || !c.var.gitlabQueue) throw serviceUnavailable('The GitLab integration is not configured on this server.');
  if (!(await timingSafeEqual(c.req.header('x-gitlab-token') ?? '', secret))) {
    throw new ApiError(401, 'Missing or wrong X-Gitlab-Token.');
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
