import type { AppRouteHandler } from '../../lib/types';
import type { GitLabPush } from './webhooks.routes';

export const gitlabPush: AppRouteHandler<GitLabPush> = async (c) => {
  const event = c.req.valid('json');
  if (!event.checkout_sha) return c.json({ status: 'ignored' as const, reason: `${event.ref} was deleted` }, 200);
  const eventId = c.req.header('x-gitlab-event-uuid') ?? c.req.header('idempotency-key') ?? null;
  await c.var.gitlabQueue!.send({ type: 'push', project: event.project, ref: event.ref, checkoutSha: event.checkout_sha, eventId });
  return c.json({ status: 'queued' as const, event: eventId ?? 'push' }, 202);
};
