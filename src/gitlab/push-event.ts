/** The parts of GitLab's Push Hook / Tag Push Hook bodies we use (others are ignored), and the job they become. */
import { z } from '@hono/zod-openapi';

export const gitlabProjectInfo = z
  .looseObject({
    id: z.number().int(),
    path_with_namespace: z.string().min(1).max(1024),
    web_url: z.string().max(2048).optional(),
    default_branch: z.string().max(1024).nullish(),
  })
  .openapi('GitLabProject', { description: "GitLab's project info; stored as the project's `data.git`." });

export const pushEvent = z
  .looseObject({
    object_kind: z.enum(['push', 'tag_push']),
    ref: z.string().min(1).max(1024),
    checkout_sha: z.string().regex(/^[0-9a-f]{40,64}$/).nullable(),
    project: gitlabProjectInfo,
  })
  .openapi('GitLabPushEvent', {
    description: 'A GitLab Push Hook or Tag Push Hook body.',
    example: {
      object_kind: 'push',
      ref: 'refs/heads/master',
      checkout_sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      project: { id: 1207, path_with_namespace: 'vision/isp-pipeline', web_url: 'https://gitlab.example.com/vision/isp-pipeline', default_branch: 'master' },
    },
  });
export type PushEvent = z.infer<typeof pushEvent>;

export const PUSH_EVENTS = ['Push Hook', 'Tag Push Hook'];
