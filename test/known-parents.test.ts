/**
 * Uploads whose parents this process has written before are written by a statement that looks them up
 * by the ids it remembers (domain/ingest/known-parents.ts). What is remembered may be wrong by then —
 * a batch renamed, deleted, ids from another database — and the uploads may change a parent. In every
 * case the rows must end as the statement that finds or creates the parents leaves them.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { outputUpload as outputUploadSchema } from '../src/domain/ingest/envelope';
import { ingestOutputs, ingestStatements, outputAsWritten } from '../src/domain/ingest/ingest-outputs';
import { receiptClock } from '../src/ingestion/receipts';
import { emptyTables, engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

type Json = Record<string, any>;
const answer = outputAsWritten('shared-disk');

describe.each(engineNames)('uploads to parents already written, on %s', (engine) => {
  let database: TestDatabase;
  const clock = receiptClock();
  const received = (spec: UploadSpec, extra: Json = {}) => ({ upload: outputUploadSchema.parse({ ...outputUpload(spec), ...extra }), receivedAt: clock() });
  const ingest = async (spec: UploadSpec, extra: Json = {}) => (await ingestOutputs(database.db, [received(spec, extra)], answer))[0]!;
  const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);
  const outputsByBatch = () =>
    rows<{ label: string; path: string }>(sql`SELECT b.label, t.path FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN test_inputs t ON t.id = o.test_input_id ORDER BY b.label, t.path`);

  beforeAll(async () => {
    database = await openTestDatabase(engine);
  });
  beforeEach(() => emptyTables(database.db));
  afterAll(() => database?.close());

  test('a run’s end is answered as the statement creating its parents would answer it', async () => {
    await ingest({ status: 'running', input: 'inputs/a.jpg' });
    const end = received({ input: 'inputs/a.jpg', metrics: { psnr: 31 } });
    const [ended] = await ingestOutputs(database.db, [end], answer);
    // the same upload again, by the full statement: a duplicate, written as nothing and answered as stored
    const [full] = await rows<Json>(ingestStatements([end], answer, 'created')[0]!);
    expect(ended!.body).toEqual(answer.of(full!));
    expect(ended!.body).toMatchObject({ is_pending: false, metrics: { psnr: 31 }, test_input_path: 'inputs/a.jpg' });
  });

  test('a batch renamed since: an upload of its old label creates that batch again, the renamed one is left alone', async () => {
    await ingest({ input: 'inputs/a.jpg' });
    await ingest({ input: 'inputs/b.jpg', status: 'running' });
    await database.db.execute(sql`UPDATE batches SET label = 'renamed' WHERE label = 'default'`);
    await ingest({ input: 'inputs/b.jpg' });
    expect(await outputsByBatch()).toEqual([
      { label: 'default', path: 'inputs/b.jpg' },
      { label: 'renamed', path: 'inputs/a.jpg' },
      { label: 'renamed', path: 'inputs/b.jpg' },
    ]);
  });

  test('ids remembered from another database (emptied, other commits first) are checked, not trusted', async () => {
    await ingest({ sha: shaOf(1), input: 'inputs/a.jpg' });
    await emptyTables(database.db);
    // this database's commit 1 and batch 1 are now those of another sha
    await ingest({ sha: shaOf(2), input: 'inputs/a.jpg' });
    await ingest({ sha: shaOf(1), input: 'inputs/a.jpg' });
    const commits = await rows<{ hexsha: string; outputs: number }>(
      sql`SELECT c.hexsha, count(o.id)::int AS outputs FROM ci_commits c JOIN batches b ON b.ci_commit_id = c.id JOIN outputs o ON o.batch_id = b.id GROUP BY c.hexsha ORDER BY c.hexsha`,
    );
    expect(commits).toEqual([shaOf(1), shaOf(2)].sort().map((hexsha) => ({ hexsha, outputs: 1 })));
  });

  test('a test input’s data patch that changes it is applied', async () => {
    await ingest({ status: 'running' }, { input_metadata: { exposure: 1 } });
    await ingest({}, { input_metadata: { exposure: 2 } });
    const [input] = await rows<{ data: Json }>(sql`SELECT data FROM test_inputs`);
    expect(input!.data.metadata).toEqual({ exposure: 2 });
  });

  test('a batch’s data patch that changes it is applied', async () => {
    await ingest({ status: 'running' }, { job_type: 'local' });
    await ingest({}, { job_type: 'ci' });
    const [batch] = await rows<{ data: Json }>(sql`SELECT data FROM batches`);
    expect(batch!.data.type).toBe('ci');
  });

  test('uploads written together stay atomic when one changes its parent: one statement writes them all', async () => {
    await ingest({ input: 'inputs/a.jpg', status: 'running' });
    await ingest({ input: 'inputs/b.jpg', status: 'running' }, { input_metadata: { exposure: 1 } });
    await ingestOutputs(database.db, [received({ input: 'inputs/a.jpg' }), received({ input: 'inputs/b.jpg' }, { input_metadata: { exposure: 2 } })], answer);
    const written = await rows<{ xmin: string; is_pending: boolean }>(sql`SELECT xmin::text, is_pending FROM outputs`);
    expect(written.map((output) => output.is_pending)).toEqual([false, false]);
    expect(new Set(written.map((output) => output.xmin)).size).toBe(1);
  });

  test('commit metadata a later upload brings is recorded, where the commit has none', async () => {
    await ingest({ status: 'running' }, { commit_message: undefined });
    await ingest({}, { commit_message: 'first message' });
    await ingest({ status: 'running' }, { commit_message: 'the commit has one' });
    const [commit] = await rows<{ message: string | null }>(sql`SELECT message FROM ci_commits`);
    expect(commit!.message).toBe('first message');
  });

  test('the commit’s and project’s latest-output stamps are refreshed', async () => {
    await ingest({ input: 'inputs/a.jpg', status: 'running' });
    const old = '2001-01-01T00:00:00Z';
    await database.db.execute(sql`UPDATE ci_commits SET latest_output_datetime = ${old}`);
    await database.db.execute(sql`UPDATE projects SET latest_output_datetime = ${old}`);
    await ingest({ input: 'inputs/a.jpg' });
    const [stamps] = await rows<{ commit: Date | string; project: Date | string }>(
      sql`SELECT c.latest_output_datetime AS commit, p.latest_output_datetime AS project FROM ci_commits c JOIN projects p ON p.id = c.project_id`,
    );
    for (const stamp of [stamps!.commit, stamps!.project]) expect(Date.now() - new Date(stamp).getTime()).toBeLessThan(60_000);
  });
});
