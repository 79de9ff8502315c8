import { createRoute, z } from '@hono/zod-openapi';
import { projectId } from '../../domain/fields';
import { boundedText } from '../../lib/fields';
import { errorResponses, jsonBody, jsonContent, notFoundResponse } from '../schemas';

const tags = ['Test groups'];
const groupName = boundedText(256).openapi({ description: '`extra-batches` (shared), or a user name.', example: 'extra-batches' });
const groupsQuery = z.object({ project: projectId(), name: groupName });

export const readTestGroups = createRoute({
  method: 'get',
  path: '/api/v1/tests/groups',
  operationId: 'readTestGroups',
  tags,
  summary: 'A document of test groups (YAML)',
  description: 'The YAML text as saved, comments included (the web app edits it as is); a group never saved reads as a comment.',
  request: { query: groupsQuery },
  responses: {
    200: {
      description: 'The YAML text.',
      content: { 'application/yaml': { schema: z.string().openapi({ example: 'night:\n  inputs:\n    - scenes/night\n' }) } },
    },
    ...errorResponses,
    ...notFoundResponse,
  },
});

export const saveTestGroups = createRoute({
  method: 'post',
  path: '/api/v1/tests/groups',
  operationId: 'saveTestGroups',
  tags,
  summary: 'Save a document of test groups',
  description: 'Saved verbatim once it parses as YAML (a 400 gives the parser\'s message, line and column). `project` in the body is ignored: the query names it.',
  request: {
    query: groupsQuery,
    body: jsonBody(
      z
        .object({ groups: z.string().max(512 * 1024), project: projectId().optional() })
        .openapi('TestGroupsDocument', { example: { project: 'group/repo', groups: 'night:\n  inputs:\n    - scenes/night\n' } }),
    ),
  },
  responses: {
    200: jsonContent(
      z.object({ status: z.literal('OK'), updated_at: z.string() }).openapi('TestGroupsSaved', { example: { status: 'OK', updated_at: '2026-11-29T08:16:00.123+00:00' } }),
      'Saved.',
    ),
    ...errorResponses,
    ...notFoundResponse,
  },
});

export const previewTestGroup = createRoute({
  method: 'post',
  path: '/api/v1/tests/group',
  operationId: 'previewTestGroup',
  tags,
  summary: 'The tests of a group',
  description:
    "What the tuning form shows before sending: the group `name` resolved through the commit's batches files (read from GitLab at " +
    '`commit`) and the stored groups named in the body, with each input\'s configurations. Inputs are listed as written: folders and ' +
    'wildcards are expanded by `qa batch` in CI, which sees the data disk; `message` (HTML) says so. A group that can\'t be expanded ' +
    'answers 200 with `error`, as the original.',
  request: {
    query: z.object({
      project: projectId(),
      name: boundedText(1024, 0).openapi({ example: 'night' }),
      commit: boundedText(64).optional().openapi({ example: '48b24841' }),
    }),
    body: jsonBody(
      z
        .object({
          groups: z
            .array(boundedText(256).nullable())
            .max(20)
            .transform((names) => names.map((name) => name ?? 'null')),
        })
        .openapi('TestGroupNames', { example: { groups: ['extra-batches', 'ada'] } }),
    ),
  },
  responses: {
    200: jsonContent(
      z
        .object({
          tests: z.array(z.object({ input_path: z.string(), configurations: z.array(z.unknown()) })),
          message: z.string().nullable(),
          error: z.string().optional(),
        })
        .openapi('TestGroupPreview', {
          example: { tests: [{ input_path: 'scenes/night/0001.dng', configurations: ['base', { denoise: 0.5 }] }], message: null },
        }),
      'The tests.',
    ),
    ...errorResponses,
    ...notFoundResponse,
  },
});

export type ReadTestGroups = typeof readTestGroups;
export type SaveTestGroups = typeof saveTestGroups;
export type PreviewTestGroup = typeof previewTestGroup;
