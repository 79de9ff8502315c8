import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, jsonContent, notFoundResponse, projectSummarySchema } from '../schemas';

const tags = ['Projects'];
const projectQuery = z.object({ project: z.string().min(1).max(512).openapi({ example: 'group/repo' }) });

export const listProjects = createRoute({
  method: 'get',
  path: '/api/v1/projects',
  tags,
  summary: 'Every project that has commits',
  description: '`data` without metric definitions, and only the `project` section of its qaboard.yaml config.',
  responses: { 200: jsonContent(z.record(z.string(), projectSummarySchema), 'Projects keyed by id.'), ...errorResponses },
});

export const getProject = createRoute({
  method: 'get',
  path: '/api/v1/project',
  tags,
  summary: "A project's data: git info, qaboard.yaml config, metric definitions, milestones",
  request: { query: projectQuery },
  responses: {
    200: jsonContent(z.record(z.string(), z.unknown()).openapi('ProjectData'), 'The project data.'),
    ...errorResponses,
    ...notFoundResponse,
  },
});

export const listBranches = createRoute({
  method: 'get',
  path: '/api/v1/project/branches',
  tags,
  summary: "The branches the project's commits were seen on, sorted",
  request: { query: projectQuery },
  responses: { 200: jsonContent(z.array(z.string()), 'Branch names.'), ...errorResponses, ...notFoundResponse },
});

export type ListProjects = typeof listProjects;
export type GetProject = typeof getProject;
export type ListBranches = typeof listBranches;
