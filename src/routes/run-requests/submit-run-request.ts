/**
 * Routes that ask for runs (tuning, redo, save-artifacts) record a run request and queue its
 * dispatch; stops and deletions queue the cancellation of the pipelines they cancelled.
 */
import { createRunRequest, failRunRequest, recordCancellationFailure, type NewRunRequest, type RunRequest } from '../../domain/run-requests/run-requests';
import { serviceUnavailable } from '../../lib/problem';
import type { AppContext } from '../../lib/types';

/** Records a request and queues its dispatch to GitLab CI; 503 when GitLab is not configured. */
export async function submitRunRequest(c: AppContext, spec: Omit<NewRunRequest, 'requestedBy'>): Promise<RunRequest> {
  const queue = c.var.runRequestQueue;
  if (!queue) {
    throw serviceUnavailable('Runs are dispatched to GitLab CI, which is not configured here: set GITLAB_URL and GITLAB_TOKEN (a token with the `api` scope).');
  }
  const request = await createRunRequest(c.var.db, { ...spec, requestedBy: c.var.caller.id });
  try {
    await queue.send({ type: 'dispatch', runRequestId: request.id });
  } catch (error) {
    c.var.logger.log('error', { request_id: c.var.requestId, run_request_not_queued: request.id, error: String(error) });
    await failRunRequest(c.var.db, request.id, 'its dispatch could not be queued');
    throw serviceUnavailable('The run request could not be queued; retry in a moment.', 5);
  }
  return request;
}

/** Queues the cancellation of cancelled requests' pipelines (those dispatched). */
export async function cancelPipelines(c: AppContext, cancelled: { id: number; pipeline_id: number | null }[]): Promise<void> {
  for (const request of cancelled.filter((r) => r.pipeline_id !== null)) {
    try {
      if (!c.var.runRequestQueue) throw new Error('GitLab is not configured');
      await c.var.runRequestQueue.send({ type: 'cancel-pipeline', runRequestId: request.id });
    } catch (error) {
      await recordCancellationFailure(c.var.db, request.id, `its cancellation could not be queued (${String(error)})`);
    }
  }
}
