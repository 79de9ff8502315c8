import { createRoute, z } from '@hono/zod-openapi';
import { pushEvent } from '../../gitlab/push-event';
import { checkJsonBody } from '../../lib/json-body';
import { errorResponses, jsonContent, problemResponseSpec } from '../schemas';
import { acceptPushEvents, verifyGitLabToken } from './webhooks.middleware';

const accepted = z
  .object({ status: z.literal('queued'), event: z.string() })
  .openapi('WebhookQueued', { example: { status: 'queued', event: '8b3c8f9e-2b7a-4c55-9d1e-6f0a2b3c4d5e' } });
const ignored = z
  .object({ status: z.literal('ignored'), reason: z.string() })
  .openapi('WebhookIgnored', { example: { status: 'ignored', reason: 'Merge Request Hook is not handled' } });

const gitlabWebhook = (path: string, operationId: string) =>
  createRoute({
    method: 'post',
    path,
    operationId,
    tags: ['Webhooks'],
    summary: 'GitLab push events',
    description:
      'Register it in GitLab (Settings → Webhooks) with the secret token `GITLAB_WEBHOOK_SECRET` and the Push and Tag push ' +
      'events. It only verifies and queues: a background job reads the pushed commit through the GitLab API.',
    // Authentication and the event filter run before the body is read.
    middleware: [verifyGitLabToken, acceptPushEvents, checkJsonBody((c) => c.var.config.maxJsonDepth)] as const,
    request: {
      headers: z.object({
        'x-gitlab-token': z.string().optional().openapi({ description: 'The webhook secret.' }),
        'x-gitlab-event': z.string().optional().openapi({ example: 'Push Hook' }),
      }),
      body: { required: true, content: { 'application/json': { schema: pushEvent } } },
    },
    responses: {
      // After the shared errors: the webhook's own secret, not an API token, decides its 401.
      ...errorResponses,
      202: jsonContent(accepted, 'Queued for processing.'),
      200: jsonContent(ignored, 'Not an event we act on (another event type, a branch deletion).'),
      401: problemResponseSpec('Missing or wrong `X-Gitlab-Token`.'),
      503: problemResponseSpec('The GitLab integration is not configured.'),
    },
  });

export const gitlabPush = gitlabWebhook('/webhook/gitlab', 'gitlabWebhook');
export const gitlabPushV1 = gitlabWebhook('/api/v1/webhook/gitlab', 'gitlabWebhookV1');
/** Public: GitLab authenticates with the webhook secret, not an API token. */
export const webhookRoutes = [gitlabPush, gitlabPushV1];
export type GitLabPush = typeof gitlabPush;
