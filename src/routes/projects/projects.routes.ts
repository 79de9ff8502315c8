import { createRoute, z } from '@hono/zod-openapi';
import { projectId } from '../../domain/fields';
import { errorResponses, jsonContent, notFoundResponse, projectSummarySchema } from '../schemas';

const tags = ['Projects'];
const projectQuery = z.object({ project: projectId() });

export const listProjects = createRoute({
  method: 'get',
  path: '/api/v1/projects',
  operationId: 'listProjects',
  tags,
  summary: 'Every project that has commits',
  description: '`data` without metric definitions, and only the `project` section of its qaboard.yaml config.',
  responses: { 200: jsonContent(z.record(z.string(), projectSummarySchema), 'Projects keyed by id.'), ...errorResponses },
});

export const getProject = createRoute({
  method: 'get',
  path: '/api/v1/project',
  operationId: 'getProject',
  tags,
  summary: "A project's data: git info, qaboard.yaml config, metric definitions, milestones",
  description: 'The web app reads the config (`qatools_config`) and the metric definitions (`qatools_metrics`) from it.',
  request: { query: projectQuery },
  responses: {
    200: jsonContent(
      z.record(z.string(), z.unknown()).openapi('ProjectData', {
        example: {
          git: { id: 1207, path_with_namespace: 'group/repo', web_url: 'https://gitlab.example.com/group/repo' },
          qatools_config: { project: { name: 'group/repo', reference_branch: 'master' } },
          qatools_metrics: { available_metrics: { psnr: { label: 'PSNR', smaller_is_better: false } } },
        },
      }),
      'The project data.',
    ),
    ...errorResponses,
    ...notFoundResponse,
  },
});

export const listBranches = createRoute({
  method: 'get',
  path: '/api/v1/project/branches',
  operationId: 'listBranches',
  tags,
  summary: "The branches the project's commits were seen on, sorted",
  description: 'Branch names as first seen: `x` from the qa CLI, sometimes `origin/x`.',
  request: { query: projectQuery },
  responses: {
    200: jsonContent(z.array(z.string()).openapi({ example: ['feature/denoise-v2', 'master'] }), 'Branch names.'),
    ...errorResponses,
    ...notFoundResponse,
  },
});

export type ListProjects = typeof listProjects;
export type GetProject = typeof getProject;
export type ListBranches = typeof listBranches;
