/**
 * Posting a batch's regression verdict to GitLab once the batch completes (issue 14), for projects
 * whose qaboard.yaml says `regressions: {gitlab: true}`: a commit status `qa-board/<batch>`, and on
 * each open merge request the commit heads, ONE note found again by a hidden marker — updated,
 * never duplicated, however often the job is delivered.
 *
 * Retries: 429, 5xx and network failures are retried by the queue with backoff, then dead-lettered
 * (wrangler.jsonc: `max_concurrency: 1`, so that two deliveries never both create the note).
 * A 4xx (no access, a token without the `api` scope), a commit or batch gone, or invalid rules are
 * logged and given up: retrying can't fix them.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { batches, ciCommits, projects } from '../db/schema';
import { releaseVerdictRequest } from '../domain/batches/verdict-requests';
import { compareCommit } from '../domain/compare/compare-commit';
import { NO_PAIRS } from '../domain/compare/pair-listing';
import { regressionRules } from '../domain/compare/regression-rules';
import { projectRepository } from '../domain/storage-locations';
import type { JobHandler, JobQueue } from '../jobs/job-queue';
import { ApiError } from '../lib/problem';
import { GitLabError, GitLabNotFound, type GitLabClient } from './client';
import { noteMarker, statusDescription, statusName, verdictNote } from './verdict-note';

export interface VerdictJob {
  type: 'verdict';
  batchId: number;
}

export const VERDICT_QUEUE = 'qaboard-verdicts';
/** As `max_retries` of the queue's consumer in wrangler.jsonc; then the dead-letter queue. */
export const VERDICT_MAX_RETRIES = 5;

/**
 * A verdict waits this long in the queue, so that the uploads of a burst (outputs finishing
 * together, the chunks of a bulk upload) are written before it is computed and need no job of their own.
 */
export const VERDICT_DELAY_SECONDS = 2;

/** Asks for the verdict of a batch to be posted (the job decides whether the project wants it). */
export async function requestVerdict(queue: JobQueue<VerdictJob>, { batchId }: { batchId: number }): Promise<void> {
  await queue.send({ type: 'verdict', batchId }, { delaySeconds: VERDICT_DELAY_SECONDS });
}

export interface VerdictSettings {
  /** The web app's base URL: the commit status links to the commit page. */
  webAppUrl?: string;
}

async function postVerdict(db: Db, gitlab: GitLabClient, job: VerdictJob, settings: VerdictSettings): Promise<string | undefined> {
  // From now on, uploads to the batch request another verdict: this one may not see them.
  await releaseVerdictRequest(db, job.batchId);
  const [batch] = await db
    .select({ label: batches.label, hexsha: ciCommits.hexsha, projectId: projects.id, projectData: projects.data })
    .from(batches)
    .innerJoin(ciCommits, eq(ciCommits.id, batches.ciCommitId))
    .innerJoin(projects, eq(projects.id, ciCommits.projectId))
    .where(eq(batches.id, job.batchId));
  if (!batch || !regressionRules(batch.projectData.qatools_config).gitlab) return undefined;
  const { label, hexsha, projectId } = batch;
  const comparison = await compareCommit(db, {
    projectId,
    commit: hexsha,
    batch: label,
    page: NO_PAIRS,
    canSeeProject: () => true,
    webAppUrl: settings.webAppUrl,
  });
  const { idGit, idRelative } = projectRepository({ id: projectId, data: batch.projectData });
  await gitlab.setCommitStatus(idGit, hexsha, {
    state: comparison.rules.fail_on.includes(comparison.verdict) ? 'failed' : 'success',
    name: statusName(label, idRelative),
    description: statusDescription(comparison),
    targetUrl: comparison.url ?? undefined,
  });
  const marker = noteMarker(projectId, label);
  const body = verdictNote(comparison, marker);
  for (const mergeRequest of await gitlab.mergeRequestsOf(idGit, hexsha)) {
    if (mergeRequest.state !== 'opened' || mergeRequest.sha !== hexsha) continue;
    const note = (await gitlab.mergeRequestNotes(idGit, mergeRequest.iid)).find((n) => n.body.includes(marker));
    if (!note) await gitlab.createMergeRequestNote(idGit, mergeRequest.iid, body);
    else if (note.body !== body) await gitlab.updateMergeRequestNote(idGit, mergeRequest.iid, note.id, body);
  }
  return comparison.verdict;
}

export function verdictJobHandler(db: Db, gitlab: GitLabClient, settings: VerdictSettings): JobHandler<VerdictJob> {
  return async (job) => {
    try {
      const verdict = await postVerdict(db, gitlab, job, settings);
      if (verdict) console.log(JSON.stringify({ level: 'info', job: 'verdict', batch_id: job.batchId, verdict }));
    } catch (error) {
      if (!(error instanceof GitLabNotFound || error instanceof GitLabError || error instanceof ApiError)) throw error;
      console.warn(JSON.stringify({ level: 'warn', job: 'verdict', batch_id: job.batchId, gave_up: error.message }));
    }
  };
}
