/**
 * The Worker's connection modes (src/db/connect-worker.ts) in workerd, counted at a Neon proxy of
 * their own: with `neon-http`, uploads and reads open no database session (one HTTP request per
 * statement) and only an interactive transaction opens one; with `neon-websocket`, every request does;
 * with a `HYPERDRIVE` binding, nothing goes through Neon's proxy at all.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { expect, inject, test } from 'vitest';
import entry, { type WorkerEnv } from '../../src/worker';
import sample from '../fixtures/qatools/qatools-requests.jsonl?raw';
import { ADMIN_JSON } from './worker-credentials';

const proxy = inject('countingNeonProxy');
const statsUrl = `${proxy.replace(/^ws/, 'http')}/stats`;
const proxyStats = async () => (await (await fetch(statsUrl)).json()) as { webSockets: number; sqlRequests: number };
const firstUpload = JSON.parse(sample.split('\n')[0]!).json as Record<string, unknown>;

const testEnv = env as unknown as WorkerEnv & { TEST_HYPERDRIVE: Hyperdrive; DATABASE_URL: string };

/** The Worker module with its own env object: its own isolate state, so its own connection mode. */
function workerIn(mode: 'http' | 'websocket' | 'hyperdrive', vars: Record<string, string> = {}) {
  const { HYPERDRIVE: _, ...neon } = testEnv;
  const modeEnv = (
    mode === 'hyperdrive' ? { ...neon, NEON_WS_PROXY: proxy, HYPERDRIVE: testEnv.TEST_HYPERDRIVE, ...vars } : { ...neon, NEON_WS_PROXY: proxy, NEON_TRANSPORT: mode, ...vars }
  ) as WorkerEnv;
  return async (path: string, init?: RequestInit) => {
    const ctx = createExecutionContext();
    const response = await entry.fetch!(new Request(`http://qaboard.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>, modeEnv, ctx);
    const body = (await response.json()) as Record<string, any>;
    await waitOnExecutionContext(ctx); // the session, if one was opened, is ended by then
    return { status: response.status, body };
  };
}

const upload = (project: string, i: number) => ({
  ...firstUpload,
  project,
  input_path: `in/${i}.jpg`,
  rel_input_path: `in/${i}.jpg`,
  is_running: false,
  is_pending: false,
  metrics: { psnr: i },
});

/** Runs `work` and answers what it opened at the proxy. */
async function counted(work: () => Promise<void>) {
  const before = await proxyStats();
  await work();
  const after = await proxyStats();
  return { webSockets: after.webSockets - before.webSockets, sqlRequests: after.sqlRequests - before.sqlRequests };
}

test('neon-http: uploads and reads are HTTP requests and open no session; an interactive transaction opens one', async () => {
  const call = workerIn('http');
  const project = 'worker/modes-http';
  const sha = String(firstUpload.commit_sha);
  const oneShots = await counted(async () => {
    for (let i = 0; i < 10; i++) expect((await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload(project, i)) })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const commit = await call(`/api/v1/commit/${sha}?project=${encodeURIComponent(project)}`);
      expect(commit.status).toBe(200);
      expect(Object.values(commit.body.batches as Record<string, { valid_outputs: number }>).reduce((n, b) => n + b.valid_outputs, 0)).toBe(10);
    }
  });
  expect(oneShots.webSockets).toBe(0);
  expect(oneShots.sqlRequests).toBeGreaterThanOrEqual(15);

  // The commit, its batches' summaries and their outputs are independent statements: one request (db/client.ts `readBatch`),
  // whether the commit is named by a prefix of its hexsha or is the latest successful one of a branch — once the first
  // read has defined the functions its statements are sent as (db/statement-functions.ts).
  for (const path of [`/api/v1/commit/${sha.slice(0, 8)}?`, `/api/v1/commit?branch=${String(firstUpload.commit_branch)}&`]) {
    await call(`${path}project=${encodeURIComponent(project)}`);
    const read = await counted(async () => {
      const commit = await call(`${path}project=${encodeURIComponent(project)}`);
      expect(commit.status, path).toBe(200);
      expect(commit.body.id, path).toBe(sha);
      expect(Object.values(commit.body.batches as Record<string, { outputs: Record<string, unknown> }>).reduce((n, b) => n + Object.keys(b.outputs).length, 0)).toBe(10);
    });
    expect(read, path).toEqual({ webSockets: 0, sqlRequests: 1 });
  }

  // `qa optimize` bookkeeping moves outputs and drops iteration batches in one interactive transaction.
  const optimize = { project, commit_sha: sha, batch_label: 'tuning', data: { optimization: true, iteration: 1, is_best_iter: true, iteration_label: 'tuning|iter1' } };
  const transaction = await counted(async () => {
    expect((await call('/api/v1/batch/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(optimize) })).status).toBe(200);
  });
  expect(transaction.webSockets).toBe(1);
});

test('neon-http: concurrent uploads to one isolate are written together (ingestion/output-coalescer.ts), each answered with its own output', async () => {
  const call = workerIn('http');
  const project = 'worker/modes-grouped';
  const post = (i: number) => call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload(project, i)) });
  expect((await post(100)).status).toBe(200); // the statement's function is defined by then
  const together = await counted(async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i)));
    expect(answers.map((answer) => [answer.status, answer.body.test_input_path])).toEqual(Array.from({ length: 12 }, (_, i) => [200, `in/${i}.jpg`]));
  });
  expect(together.webSockets).toBe(0);
  expect(together.sqlRequests).toBeLessThanOrEqual(4); // the first alone, the others behind it (one by one: 12)
  const commit = await call(`/api/v1/commit/${String(firstUpload.commit_sha)}?project=${encodeURIComponent(project)}`);
  expect(Object.values(commit.body.batches as Record<string, { valid_outputs: number }>).reduce((n, b) => n + b.valid_outputs, 0)).toBe(13);
});

test("neon-http: a run's start and end arriving together are two statements, sent as one request without a session", async () => {
  const call = workerIn('http');
  const project = 'worker/modes-start-end';
  const post = (body: Record<string, unknown>) => call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(body) });
  expect((await post(upload(project, 100))).status).toBe(200); // the statements' functions are defined by then
  const runs = [1, 2, 3];
  const start = (i: number) => ({ ...upload(project, i), is_running: true, is_pending: true, metrics: undefined });
  // The first upload is written alone; the others wait for it, then go together: each end after its own start.
  const together = await counted(async () => {
    const answers = await Promise.all([post(upload(project, 0)), ...runs.flatMap((i) => [post(start(i)), post(upload(project, i))])]);
    expect(answers.map((answer) => answer.status)).toEqual(Array(7).fill(200));
  });
  expect(together.webSockets).toBe(0);
  expect(together.sqlRequests).toBeLessThanOrEqual(3);
  const commit = await call(`/api/v1/commit/${String(firstUpload.commit_sha)}?project=${encodeURIComponent(project)}`);
  const outputs = Object.values(commit.body.batches as Record<string, { outputs: Record<string, { test_input_path: string; is_running: boolean; metrics: { psnr?: number } }> }>)
    .flatMap((batch) => Object.values(batch.outputs))
    .filter((output) => runs.some((i) => output.test_input_path === `in/${i}.jpg`));
  expect(outputs.map((output) => [output.test_input_path, output.is_running, output.metrics.psnr]).sort()).toEqual(runs.map((i) => [`in/${i}.jpg`, false, i]));
});

test('neon-websocket: every request opens its own session, and nothing goes over HTTP', async () => {
  const call = workerIn('websocket');
  const project = 'worker/modes-websocket';
  const opened = await counted(async () => {
    for (let i = 0; i < 4; i++) expect((await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload(project, i)) })).status).toBe(200);
    expect((await call(`/api/v1/commit/${String(firstUpload.commit_sha)}?project=${encodeURIComponent(project)}`)).status).toBe(200);
  });
  expect(opened).toEqual({ webSockets: 5, sqlRequests: 0 });
});

test("neon-http: with Neon unable to reach the database, an upload is kept (202 with a receipt) and a read answers 503", async () => {
  const unreachable = new URL(testEnv.DATABASE_URL);
  unreachable.port = '1'; // nobody listens there: Neon's endpoint answers a server error (HTTP 500)
  const call = workerIn('http', { DATABASE_URL: unreachable.toString() });
  const posted = await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload('worker/modes-unreachable', 0)) });
  expect(posted.status).toBe(202);
  expect(posted.body.ingestion_id).toEqual(expect.any(String));
  const read = await call(`/api/v1/commit/${String(firstUpload.commit_sha)}?project=worker%2Fmodes-unreachable`);
  expect(read.status).toBe(503);
});

/**
 * Locally Hyperdrive opens a connection per request to the served database; on served PGlite those
 * connections share its one session, and this test's interactive transaction was seen spooled (202)
 * there. On Postgres (TEST_DATABASE_URL, as in CI) it runs, with the whole suite in `worker-hyperdrive`.
 */
const onRealPostgres = test.skipIf(inject('workerDatabaseEngine') === 'pglite');

onRealPostgres('hyperdrive: uploads, reads and an interactive transaction go through the binding, none through Neon', async () => {
  const call = workerIn('hyperdrive');
  const project = 'worker/modes-hyperdrive';
  const sha = String(firstUpload.commit_sha);
  const opened = await counted(async () => {
    for (let i = 0; i < 4; i++) expect((await call('/api/v1/output/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(upload(project, i)) })).status).toBe(200);
    const optimize = { project, commit_sha: sha, batch_label: 'tuning', data: { optimization: true, iteration: 1 } };
    expect((await call('/api/v1/batch/', { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(optimize) })).status).toBe(200);
    const commit = await call(`/api/v1/commit/${sha}?project=${encodeURIComponent(project)}`);
    expect(commit.status).toBe(200);
    expect(Object.values(commit.body.batches as Record<string, { valid_outputs: number }>).reduce((n, b) => n + b.valid_outputs, 0)).toBe(4);
  });
  expect(opened).toEqual({ webSockets: 0, sqlRequests: 0 });
});
