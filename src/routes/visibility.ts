import { canSeeProject } from '../auth/principal';
import type { AppContext } from '../lib/types';

/** Whether the caller may see a project: objects addressed by id answer 404 outside it. */
export const visibleProjects = (c: AppContext) => (projectId: string) => canSeeProject(c.var.caller, projectId);
