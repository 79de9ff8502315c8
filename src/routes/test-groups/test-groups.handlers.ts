import * as testGroups from '../../domain/test-groups/test-groups';
import { GitLabClient } from '../../gitlab/client';
import { previewTestGroup as preview } from '../../gitlab/preview-test-group';
import type { AppRouteHandler } from '../../lib/types';
import type { PreviewTestGroup, ReadTestGroups, SaveTestGroups } from './test-groups.routes';

export const readTestGroups: AppRouteHandler<ReadTestGroups> = async (c) => {
  const { project, name } = c.req.valid('query');
  return c.body(await testGroups.readTestGroups(c.var.db, project, name), 200, { 'content-type': 'application/yaml; charset=utf-8' });
};

export const saveTestGroups: AppRouteHandler<SaveTestGroups> = async (c) => {
  const { project, name } = c.req.valid('query');
  return c.json(await testGroups.saveTestGroups(c.var.db, project, name, c.req.valid('json').groups), 200);
};

export const previewTestGroup: AppRouteHandler<PreviewTestGroup> = async (c) => {
  const { project, name, commit } = c.req.valid('query');
  const gitlab = c.var.config.gitlab && new GitLabClient(c.var.config.gitlab);
  return c.json(await preview(c.var.db, gitlab, { projectId: project, name, commit, groups: c.req.valid('json').groups }), 200);
};
