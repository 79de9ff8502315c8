/**
 * Replays, in order, every request the real qa CLI made in its captured scenario, and checks each
 * answer against what the original Flask backend gave for the same request.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { engineNames, openTestDatabase, rowCounts, type TestDatabase } from './support/databases';
import { testApp, type TestApp } from './support/app';
import { originalResponses, qatoolsRequests, type CapturedRequest } from './support/fixtures';

/** The JSON type structure of a value: what clients depend on, without the values that vary (times, durations). */
function shape(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === 'object') {
    const entries = Object.entries(value as object);
    // Maps keyed by database id (`outputs`): ids differ (Postgres sequences skip values on upsert conflicts).
    if (entries.length && entries.every(([k]) => /^\d+$/.test(k))) {
      return entries.map(([, v]) => JSON.stringify(shape(v))).sort();
    }
    return Object.fromEntries(Object.entries(value as object).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shape(v)]));
  }
  return typeof value;
}

function send(app: TestApp, request: CapturedRequest) {
  const url = request.raw_query ? `${request.path}?${request.raw_query}` : request.path;
  const contentType = request.headers['Content-Type'];
  return app.request(url, {
    method: request.method,
    headers: contentType ? { 'content-type': contentType } : {},
    body: request.json ? JSON.stringify(request.json) : undefined,
  });
}

type Commit = {
  batches: Record<string, { outputs: Record<string, Record<string, unknown>>; aggregated_metrics: unknown } & Record<string, unknown>>;
} & Record<string, unknown>;

describe.each(engineNames)('qa CLI replay on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;
  const requests = qatoolsRequests();
  const expected = originalResponses();
  const answers: { status: number; body: unknown }[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db);
    for (const request of requests) {
      const response = await send(app, request);
      answers.push({ status: response.status, body: await response.json() });
    }
  });
  afterAll(() => database?.close());

  test.each(requests.map((request, i) => [i + 1, `${request.method} ${request.path}`, i] as const))(
    'request %i (%s) answers like the original',
    (_n, _label, i) => {
      const original = expected[i]!;
      expect(answers[i]!.status).toBe(original.status);
      if (original.status === 404) {
        expect(answers[i]!.body).toMatchObject({ error: expect.any(String) });
      } else {
        // Every field the original gave, with the same JSON type. (Ours may add: e.g. `data.type` on
        // every batch, which the original dropped when the batch existed before the output.)
        expect(shape(answers[i]!.body)).toMatchObject(shape(original.response) as object);
      }
    },
  );

  test('the commits read back as the CLI expects: outputs, metrics, counts, folders', () => {
    const lastReads = [34, 54]; // the final GET of each commit (0-based)
    for (const i of lastReads) {
      const ours = answers[i]!.body as Commit;
      const original = expected[i]!.response as Commit;
      expect(Object.keys(ours.batches)).toEqual(Object.keys(original.batches));
      for (const [label, batch] of Object.entries(original.batches)) {
        const mine = ours.batches[label]!;
        for (const count of ['valid_outputs', 'pending_outputs', 'running_outputs', 'failed_outputs', 'deleted_outputs']) {
          expect(mine[count], `${label}.${count}`).toBe(batch[count]);
        }
        expect(mine.aggregated_metrics).toEqual(batch.aggregated_metrics);
        expect(mine.batch_dir_url).toBe(batch.batch_dir_url);
        const summarize = (outputs: Record<string, Record<string, unknown>>) =>
          Object.values(outputs)
            .map((o) => ({
              url: o.output_dir_url,
              metrics: o.metrics,
              is_failed: o.is_failed,
              is_pending: o.is_pending,
              configurations: o.configurations,
              extra_parameters: o.extra_parameters,
              input: o.test_input_path,
            }))
            .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
        expect(summarize(mine.outputs)).toEqual(summarize(batch.outputs));
      }
      for (const field of ['id', 'branch', 'message', 'committer_name', 'authored_datetime', 'outputs_url', 'artifacts_url', 'repo_artifacts_url']) {
        expect(ours[field], field).toEqual(original[field]);
      }
    }
  });

  test('the repeated uploads of each run created no duplicate rows', async () => {
    // The original's answers name 14 distinct outputs on 3 inputs, in 4 batches of 2 commits.
    expect(await rowCounts(database.db)).toEqual({ projects: 1, ci_commits: 2, batches: 4, test_inputs: 3, outputs: 14 });
  });
});
