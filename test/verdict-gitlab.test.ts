/**
 * Verdicts posted to GitLab when a batch completes, against the fake GitLab: the commit status, the
 * merge-request note created once and then updated in place (found again by its marker, across
 * pages of notes), redeliveries that change nothing, GitLab's rate limits and 5xx retried with
 * backoff then dead-lettered, 4xx given up; projects that did not opt in get nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { ComparisonJson } from '../src/domain/compare/comparison-json';
import { inProcessVerdictQueue } from '../src/gitlab/in-process-gitlab-queue';
import type { VerdictJob } from '../src/gitlab/verdict-job';
import { noteMarker, statusDescription, statusName, verdictNote } from '../src/gitlab/verdict-note';
import type { InProcessQueue } from '../src/jobs/in-process-queue';
import { memoryLogger, postJson, testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { startFakeGitLab, type FakeGitLab, type FakeRepository } from './support/fake-gitlab';
import { outputUpload } from './support/uploads';
import { NEW_SHA, REFERENCE_SHA, runsOf, uploadRuns, type Run } from './support/verdict-scenarios';

const REPOSITORY = 'vision/gate';
const WEB_APP = 'https://qaboard.example.com';
const reference = runsOf('loss', [1, 2, 3, 4, 5, 6]);
const regressed = runsOf('loss', [2, 3, 4, 5, 6, 7]);

function repository(): FakeRepository {
  const commit = { message: 'x', author_name: 'Ada', authored_date: '2026-11-20T10:00:00Z', parent_ids: [], branches: [] };
  const otherNotes = Array.from({ length: 130 }, (_, i) => ({ id: i + 1, body: `review comment ${i}`, system: i % 3 === 0 }));
  return {
    path: REPOSITORY,
    files: {},
    commits: { [REFERENCE_SHA]: commit, [NEW_SHA]: commit },
    mergeRequests: [
      { iid: 7, state: 'opened', sha: NEW_SHA, commits: [REFERENCE_SHA, NEW_SHA], notes: otherNotes },
      { iid: 8, state: 'merged', sha: NEW_SHA, commits: [NEW_SHA], notes: [] },
      { iid: 9, state: 'opened', sha: 'f'.repeat(40), commits: [NEW_SHA, 'f'.repeat(40)], notes: [] },
    ],
  };
}

describe.each(engineNames)('verdicts posted to GitLab on %s', (engine) => {
  let database: TestDatabase;
  let gitlab: FakeGitLab;
  let queue: InProcessQueue<VerdictJob>;
  let app: TestApp;
  let projectNumber = 0;
  let project = '';

  /** As `qa batch` does: every output registered as pending, then each one finished. */
  async function runBatch(sha: string, branch: string, runs: Run[], regressions: unknown = { gitlab: true }) {
    const authored = new Date(Date.now() - (sha === REFERENCE_SHA ? 3600_000 : 0)).toISOString();
    const spec = { project, sha, branch, regressions, authored };
    await uploadRuns(app, { ...spec, runs: runs.map((run) => ({ input: run.input, status: 'running' as const })) });
    await uploadRuns(app, { ...spec, runs });
    await queue.idle();
  }
  const statuses = (sha: string) => (gitlab.repositories.get(REPOSITORY)!.statuses ?? []).filter((s) => s.sha === sha);
  const notesOf = (iid: number) => gitlab.repositories.get(REPOSITORY)!.mergeRequests!.find((mr) => mr.iid === iid)!.notes;
  const ourNotes = (iid: number) => notesOf(iid).filter((note) => note.body.includes(noteMarker(project, 'default')));
  const batchIdOf = async (sha: string) => {
    const response = await app.request(`/api/v1/commit/${sha}?project=${encodeURIComponent(project)}`);
    return ((await response.json()) as { batches: { default: { id: number } } }).batches.default.id;
  };
  const callsTo = (method: string, path: RegExp) => gitlab.calls.filter((call) => call.method === method && path.test(call.path));

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    gitlab = await startFakeGitLab([]);
  });
  beforeEach(() => {
    // A project of its own per test (`vision/gate/<n>`: a sub-project of the repository).
    project = `${REPOSITORY}/t${++projectNumber}`;
    gitlab.repositories.set(REPOSITORY, repository());
    gitlab.calls.length = 0;
    gitlab.failures = [];
    queue = inProcessVerdictQueue(database.db, { url: gitlab.url, token: gitlab.token, timeoutMs: 5000, retryDelayMs: 1 }, { webAppUrl: WEB_APP }, { delayScale: 0 });
    app = testApp(database.db, { GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token, WEB_APP_URL: WEB_APP }, { verdictQueue: queue });
  });
  afterAll(async () => {
    await gitlab?.close();
    await database?.close();
  });

  test('a completed batch gets a commit status; the open merge request it heads gets one note', async () => {
    await runBatch(REFERENCE_SHA, 'master', reference);
    // The reference's own batch completed too: a status, no reference to compare with, and no merge request it heads.
    expect(statuses(REFERENCE_SHA).map((s) => [s.name, s.status])).toEqual([[`qa-board/${project.split('/').pop()}/default`, 'success']]);
    expect(statuses(REFERENCE_SHA)[0]!.description).toMatch(/^incomplete: no reference/);

    const spec = { project, sha: NEW_SHA, branch: 'feature/gate', regressions: { gitlab: true } };
    await uploadRuns(app, { ...spec, runs: regressed.map((run) => ({ input: run.input, status: 'running' as const })) });
    await uploadRuns(app, { ...spec, runs: regressed.slice(0, -1) });
    await queue.idle();
    expect(statuses(NEW_SHA)).toEqual([]); // one output still pending: not complete
    await uploadRuns(app, { ...spec, runs: regressed.slice(-1) });
    await queue.idle();

    const [status] = statuses(NEW_SHA);
    expect(statuses(NEW_SHA)).toHaveLength(1);
    expect(status).toMatchObject({ name: `qa-board/${project.split('/').pop()}/default`, status: 'failed' });
    expect(status!.description).toMatch(/^regressed: loss regressed: worse on 6 of 6 inputs/);
    expect(status!.description!.length).toBeLessThanOrEqual(255);
    expect(status!.target_url).toBe(`${WEB_APP}/${project}/commit/${NEW_SHA}?reference=${REFERENCE_SHA}`);

    const [note] = ourNotes(7);
    expect(ourNotes(7)).toHaveLength(1);
    expect(note!.body).toContain('### ❌ QA-Board: batch `default` regressed');
    expect(note!.body).toContain('| Loss | regressed | 6 / 0 / 6 | 3.5 → 4.5 | +1 | 0.016 |');
    expect(note!.body).toContain('| `inputs/0` | Loss | 1 | 2 | +1 | +100% |');
    expect(note!.body).toContain(`[Open the comparison in QA-Board](<${WEB_APP}/${project}/commit/${NEW_SHA}?reference=${REFERENCE_SHA}>)`);
    expect(notesOf(8)).toEqual([]); // merged
    expect(notesOf(9)).toEqual([]); // the commit is in it, but not its head
    expect(queue.deadLetters).toEqual([]);
  });

  test('a redelivered job changes nothing; a new verdict updates the same note in place', async () => {
    await runBatch(REFERENCE_SHA, 'master', reference);
    await runBatch(NEW_SHA, 'feature/gate', regressed);
    const noteId = ourNotes(7)[0]!.id;
    const before = { statuses: statuses(NEW_SHA).length, body: ourNotes(7)[0]!.body };
    const job = { type: 'verdict' as const, batchId: await batchIdOf(NEW_SHA) };

    gitlab.calls.length = 0;
    await queue.send(job);
    await queue.send(job);
    await queue.idle();
    expect(ourNotes(7)).toEqual([{ id: noteId, body: before.body, system: false }]);
    expect(statuses(NEW_SHA)).toHaveLength(before.statuses); // GitLab refused the same state again: taken as done
    expect(callsTo('PUT', /notes/)).toEqual([]);
    expect(callsTo('POST', /notes/)).toEqual([]);
    // The marker note was on the second page of notes: found by following the pages.
    expect(callsTo('GET', /notes.*page=2/).length).toBeGreaterThan(0);

    // One output back to its reference value: the verdict's figures change, the note is edited.
    await uploadRuns(app, { project, sha: NEW_SHA, branch: 'feature/gate', regressions: { gitlab: true }, runs: [reference[0]!] });
    await queue.idle();
    expect(ourNotes(7).map((note) => note.id)).toEqual([noteId]);
    expect(ourNotes(7)[0]!.body).toContain('| Loss | regressed | 5 / 0 / 6 |');
    expect(callsTo('PUT', new RegExp(`/merge_requests/7/notes/${noteId}$`))).toHaveLength(1);
    expect(notesOf(7)).toHaveLength(131);
  });

  test('an upload that completes a batch succeeds even when the verdict cannot be queued', async () => {
    const logger = memoryLogger();
    const failing = testApp(database.db, {}, { logger, verdictQueue: { send: () => Promise.reject(new Error('queue unavailable')) } });
    const optedIn = { qaboard_config: { project: { name: project }, regressions: { gitlab: true } } };
    const upload = (status: 'running' | 'done') => outputUpload({ project, sha: NEW_SHA, status, metrics: { loss: 1 }, extra: optedIn });
    expect((await postJson(failing, '/api/v1/output/', upload('running'))).status).toBe(200);
    expect(logger.records.filter((r) => r.verdict_not_queued)).toEqual([]); // still pending: nothing asked
    expect((await postJson(failing, '/api/v1/output/', upload('done'))).status).toBe(200);
    expect(logger.records.filter((r) => r.verdict_not_queued)).toEqual([expect.objectContaining({ level: 'error', verdict_not_queued: 'Error: queue unavailable' })]);
  });

  test('a burst of uploads completing a batch (a bulk upload, written from the spool) queues one verdict; once it starts, the next upload may queue another', async () => {
    const sent: { message: VerdictJob; delaySeconds?: number }[] = [];
    const recording = testApp(database.db, {}, { verdictQueue: { send: async (message, options) => void sent.push({ message, ...options }) } });
    await runBatch(REFERENCE_SHA, 'master', reference); // the project exists, opted in
    const { metrics: _, ...envelope } = outputUpload({ project, sha: NEW_SHA, branch: 'feature/gate' });
    const outputs = regressed.map((run) => ({ input_path: run.input, rel_input_path: run.input, metrics: run.metrics }));
    expect((await postJson(recording, '/api/v2/outputs', { ...envelope, outputs })).status).toBe(202);
    await recording.spoolDrain.idle();
    const job = { type: 'verdict' as const, batchId: await batchIdOf(NEW_SHA) };
    expect(sent).toEqual([{ message: job, delaySeconds: 2 }]);

    await uploadRuns(recording, { project, sha: NEW_SHA, branch: 'feature/gate', runs: regressed.slice(0, 1) });
    expect(sent).toHaveLength(1); // the queued job will see this upload too
    await queue.send(job);
    await queue.idle();
    await uploadRuns(recording, { project, sha: NEW_SHA, branch: 'feature/gate', runs: regressed.slice(0, 1) });
    expect(sent).toHaveLength(2);
  });

  test('projects that did not opt in get nothing posted', async () => {
    await runBatch(REFERENCE_SHA, 'master', reference, {});
    await runBatch(NEW_SHA, 'feature/gate', regressed, {});
    expect(gitlab.calls).toEqual([]);
  });

  test('rate limits and 5xx are retried with backoff until they pass', async () => {
    await runBatch(REFERENCE_SHA, 'master', reference);
    gitlab.failures = [
      { match: /\/statuses\//, status: 429, retryAfter: 30, times: 1 },
      { match: /\/merge_requests\/7\/notes$/, status: 502, times: 3 },
    ];
    await runBatch(NEW_SHA, 'feature/gate', regressed);
    expect(gitlab.failures.every((f) => f.times === 0)).toBe(true);
    expect(statuses(NEW_SHA)).toHaveLength(1);
    expect(ourNotes(7)).toHaveLength(1);
    expect(queue.deadLetters).toEqual([]);
  });

  test('GitLab failing for good: retried, then dead-lettered', async () => {
    await runBatch(REFERENCE_SHA, 'master', reference);
    gitlab.failures = [{ match: /\/merge_requests$/, status: 500, times: Infinity }];
    await runBatch(NEW_SHA, 'feature/gate', regressed);
    expect(queue.deadLetters).toHaveLength(1);
    expect(queue.deadLetters[0]!.message).toEqual({ type: 'verdict', batchId: expect.any(Number) });
    expect(ourNotes(7)).toEqual([]);
    // 1 delivery + VERDICT_MAX_RETRIES (5) retries; reads get one quick retry in place each.
    expect(callsTo('GET', new RegExp(`commits/${NEW_SHA}/merge_requests`))).toHaveLength(12);
  });

  test('a 4xx (e.g. a token without the `api` scope) is logged and given up, not retried', async () => {
    await runBatch(REFERENCE_SHA, 'master', reference);
    gitlab.failures = [{ match: /\/statuses\//, status: 403, times: Infinity }];
    await runBatch(NEW_SHA, 'feature/gate', regressed);
    expect(callsTo('POST', new RegExp(`/statuses/${NEW_SHA}`))).toHaveLength(1);
    expect(queue.deadLetters).toEqual([]);
    expect(ourNotes(7)).toEqual([]);
  });
});

describe('how a verdict reads on GitLab', () => {
  const comparison = {
    verdict: 'regressed',
    reasons: ['loss regressed: worse on 6 of 6 inputs, better on 0 (median Δ +1, p = 0.016) @all'],
    project: 'g/r',
    commit: { id: NEW_SHA, batch: 'nightly | <b>', branch: 'x' },
    reference: { id: REFERENCE_SHA, batch: 'default', branch: 'master', resolved_from: 'default', requested: 'master' },
    counts: { paired: 6 },
    metrics: { loss: { label: 'Loss *ratio* | %', status: 'regressed', regressed: 6, improved: 0, pairs: 6, ref: { median: 0.5 }, new: { median: 0.75 }, median_delta: 0.25, p_regression: 0.015625, scale: 100, suffix: '%' } },
    worst_regressions: [{ test_input_path: 'evil`| path\n@all.jpg', metric: 'loss', ref: 0.5, new: 1, delta: 0.5, relative_delta: 1 }],
    url: null,
  } as unknown as ComparisonJson;

  test('inputs, labels and reasons are escaped: no broken table, no markup, no mentions', () => {
    const note = verdictNote(comparison, noteMarker('g/r', 'nightly | <b>'));
    expect(note.split('\n')[0]).toBe('<!-- qa-board verdict: project=g%2Fr batch=nightly%20%7C%20%3Cb%3E -->');
    expect(note).toContain("| `evil'\\| path @all.jpg` | Loss \\*ratio\\* \\| % | 50% | 100% | +50% | +100% |");
    expect(note).toContain('- loss regressed: worse on 6 of 6 inputs, better on 0 (median Δ +1, p = 0.016) @\u200ball');
    expect(note).toContain('| Loss \\*ratio\\* \\| % | regressed | 6 / 0 / 6 | 50% → 75% | +25% | 0.016 |');
    expect(note).toContain('### ❌ QA-Board: batch `nightly | <b>` regressed'); // in code: shown as is, not HTML
  });

  test('status names tell sub-projects apart; descriptions fit in 255 characters', () => {
    expect(statusName('default', '')).toBe('qa-board/default');
    expect(statusName('nightly', 'denoise')).toBe('qa-board/denoise/nightly');
    const long = statusDescription({ verdict: 'incomplete', reasons: Array.from({ length: 40 }, (_, i) => `reason ${i}`) });
    expect(long).toHaveLength(255);
    expect(long.endsWith('…')).toBe(true);
  });
});
