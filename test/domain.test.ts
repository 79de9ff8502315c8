/**
 * The domain's rules, tested on a real database without building requests: how commits and
 * projects are recorded whoever reports them, how a run's uploads update one output, and how
 * reads find commits.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { recordCommit, type CommitRecord } from '../src/domain/commits/record-commit';
import { outputUpload as outputUploadSchema } from '../src/domain/ingest/envelope';
import { ingestOutputs, outputAsWritten } from '../src/domain/ingest/ingest-outputs';
import { commitsInWindow, decodeCursor, latestSuccessfulCommit, readCommit } from '../src/domain/read/commits';
import { receiptClock } from '../src/ingestion/receipts';
import { emptyTables, engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

type Json = Record<string, any>;
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const config = (name: string, referenceBranch = 'main') => ({ project: { name, reference_branch: referenceBranch } });
const noOptions = { metrics: [], withOutputs: true };

describe.each(engineNames)('domain rules on %s', (engine) => {
  let database: TestDatabase;
  const projectData = async (id = 'group/repo') =>
    (await queryRows<{ data: Json }>(database.db, sql`SELECT data FROM projects WHERE id = ${id}`))[0]?.data;
  const commitData = async (hexsha: string) =>
    (await queryRows<{ data: Json }>(database.db, sql`SELECT data FROM ci_commits WHERE hexsha = ${hexsha}`))[0]?.data;
  const clock = receiptClock();
  const ingest = async (spec: UploadSpec, extra: Json = {}) =>
    (await ingestOutputs(database.db, [{ upload: outputUploadSchema.parse({ ...outputUpload(spec), ...extra }), receivedAt: clock() }], outputAsWritten('shared-disk')))[0]!;
  const record = (fields: Partial<CommitRecord>) =>
    recordCommit(database.db, { projectId: 'group/repo', hexsha: shaOf(1), source: 'upload', ...fields });

  beforeAll(async () => {
    database = await openTestDatabase(engine);
  });
  beforeEach(() => emptyTables(database.db));
  afterAll(() => database?.close());

  describe('recording commits: the project adopts a config on its reference branch, or when it has none', () => {
    test.each(['upload', 'gitlab'] as const)('from %s', async (source) => {
      await record({ source, hexsha: shaOf(1), branch: 'feature', config: config('first') });
      expect((await projectData())!.qatools_config.project.name).toBe('first');
      await record({ source, hexsha: shaOf(2), branch: 'feature', config: config('feature-edit') });
      expect((await projectData())!.qatools_config.project.name).toBe('first');
      await record({ source, hexsha: shaOf(3), branch: 'main', config: config('released') });
      expect((await projectData())!.qatools_config.project.name).toBe('released');
      expect((await commitData(shaOf(2)))!.qatools_config.project.name).toBe('feature-edit');
    });

    test('an upload records its commit’s config when it creates the commit; GitLab whenever it reports it', async () => {
      expect(await record({ hexsha: shaOf(1), branch: 'main', config: config('v1') })).toMatchObject({ created: true });
      expect(await record({ hexsha: shaOf(1), branch: 'main', config: config('local-edit') })).toMatchObject({ created: false });
      expect((await commitData(shaOf(1)))!.qatools_config.project.name).toBe('v1');
      expect((await projectData())!.qatools_config.project.name).toBe('v1');
      await record({ source: 'gitlab', hexsha: shaOf(1), branch: 'main', config: config('pushed') });
      expect((await commitData(shaOf(1)))!.qatools_config.project.name).toBe('pushed');
      expect((await projectData())!.qatools_config.project.name).toBe('pushed');
    });

    test('metadata: the first source’s is kept, later ones fill gaps; GitLab’s authored date is authoritative', async () => {
      await record({ hexsha: shaOf(1), authoredDatetime: '2026-01-02T00:00:00Z', message: null, committerName: 'First' });
      await record({ hexsha: shaOf(1), authoredDatetime: '2026-05-05T00:00:00Z', message: 'filled', committerName: 'Second' });
      const read = async () =>
        (await queryRows<Json>(database.db, sql`SELECT committer_name, message, (extract(epoch FROM authored_datetime) * 1000)::float8 AS authored FROM ci_commits`))[0];
      expect(await read()).toMatchObject({ committer_name: 'First', message: 'filled', authored: Date.parse('2026-01-02T00:00:00Z') });
      await record({ source: 'gitlab', hexsha: shaOf(1), authoredDatetime: '2025-12-31T23:00:00Z' });
      expect((await read())!.authored).toBe(Date.parse('2025-12-31T23:00:00Z'));
    });
  });

  describe('ingesting outputs', () => {
    test('a run’s start and end update one output; a late start keeps the results', async () => {
      const started = await ingest({ status: 'running' });
      const ended = await ingest({ metrics: { psnr: 30 } });
      const late = await ingest({ status: 'running' });
      expect(ended.body).toMatchObject({ id: started.body.id, is_pending: false, metrics: { psnr: 30, is_failed: false } });
      expect(late.body).toMatchObject({ id: started.body.id, is_pending: true, metrics: { psnr: 30, is_failed: false } });
      expect([started.commitCreated, ended.commitCreated]).toEqual([true, false]);
    });

    test('uploads of one commit written by one call: the first’s metadata is kept, later ones fill its gaps, as if written one after the other', async () => {
      const upload = (input: string, extra: Json) => ({ upload: outputUploadSchema.parse({ ...outputUpload({ input }), ...extra }), receivedAt: clock() });
      await ingestOutputs(
        database.db,
        [
          upload('inputs/1.jpg', { commit_message: null, commit_committer_name: 'First' }),
          upload('inputs/2.jpg', { commit_message: 'filled', commit_committer_name: 'Second' }),
          upload('inputs/3.jpg', { commit_message: 'too late', commit_committer_name: 'Third' }),
        ],
        outputAsWritten('shared-disk'),
      );
      const [commit] = await queryRows<Json>(database.db, sql`SELECT committer_name, message, (SELECT count(DISTINCT xmin::text) FROM outputs)::int AS statements FROM ci_commits`);
      expect(commit).toEqual({ committer_name: 'First', message: 'filled', statements: 1 });
    });

    test('uploads whose parameters differ only in key order are one output, updated in receipt order by one call', async () => {
      const upload = (extraParameters: Json, metrics: Json) => ({
        upload: outputUploadSchema.parse({ ...outputUpload({ metrics }), extra_parameters: extraParameters }),
        receivedAt: clock(),
      });
      const [first, second] = await ingestOutputs(database.db, [upload({ gain: 1, iso: 800 }, { psnr: 1 }), upload({ iso: 800, gain: 1 }, { psnr: 2 })], outputAsWritten('shared-disk'));
      expect(second!.body).toMatchObject({ id: first!.body.id, metrics: { psnr: 2, is_failed: false } });
    });

    test('patches of a test input apply in the order received, when one call writes an output twice', async () => {
      const upload = (spec: UploadSpec, metadata: Json) => ({ upload: outputUploadSchema.parse({ ...outputUpload(spec), input_metadata: metadata }), receivedAt: clock() });
      // the output's end goes to a second statement; the other output's upload, received after it, must not go before it
      await ingestOutputs(
        database.db,
        [upload({ status: 'running' }, { exposure: 'start' }), upload({ metrics: { psnr: 1 } }, { exposure: 'end' }), upload({ extra: { extra_parameters: { gain: 2 } } }, { exposure: 'last' })],
        outputAsWritten('shared-disk'),
      );
      const [input] = await queryRows<{ data: Json }>(database.db, sql`SELECT data FROM test_inputs`);
      expect(input!.data.metadata).toEqual({ exposure: 'last' });
    });
  });

  describe('reading commits', () => {
    test('by hexsha prefix, an exact match first', async () => {
      const long = 'abcd'.padEnd(40, '1');
      await ingest({ sha: long });
      await ingest({ sha: 'abcd' });
      expect((await readCommit(database.db, 'group/repo', 'abcd', noOptions)).id).toBe('abcd');
      expect((await readCommit(database.db, 'group/repo', 'abcd1', noOptions)).id).toBe(long);
      await expect(readCommit(database.db, 'group/repo', 'ffff', noOptions)).rejects.toMatchObject({ status: 404 });
    });

    test('the latest successful commit of the reference branch the project’s config names', async () => {
      const ref = { qaboard_config: config('group/repo', 'main') };
      await ingest({ sha: shaOf(1), branch: 'main', authored: daysAgo(3) }, ref);
      await ingest({ sha: shaOf(2), branch: 'main', authored: daysAgo(2), status: 'failed' }, ref);
      await ingest({ sha: shaOf(3), branch: 'master', authored: daysAgo(1) }, ref);
      expect((await latestSuccessfulCommit(database.db, 'group/repo', undefined, noOptions)).id).toBe(shaOf(1));
    });

    test('of commits authored at the same moment, the latest successful is the one recorded last', async () => {
      const authored = daysAgo(1);
      for (const i of [1, 2, 3]) await ingest({ sha: shaOf(i), branch: 'main', authored });
      // Every statement that finds it picks the same one: over Neon's HTTP the commit and its batches are found apart.
      const latest = await latestSuccessfulCommit(database.db, 'group/repo', 'main', noOptions);
      expect(latest.id).toBe(shaOf(3));
      expect(Object.keys(latest.batches)).toEqual(['default']);
    });

    test('the window slides back to the latest matching commit when nothing is recent', async () => {
      await ingest({ sha: shaOf(1), authored: daysAgo(30) });
      await ingest({ sha: shaOf(2), authored: daysAgo(31) });
      await ingest({ sha: shaOf(3), authored: daysAgo(60) });
      const found = await commitsInWindow(database.db, { projectId: 'group/repo' }, { ...noOptions, withOutputs: false });
      expect(found.commits.map((c) => c.id)).toEqual([shaOf(1), shaOf(2)]);
      expect(found.next).toBeUndefined();
    });

    test('pages follow each other on (authored date, id), in the first page’s window, to the end', async () => {
      for (let i = 1; i <= 5; i++) await ingest({ sha: shaOf(i), authored: daysAgo(i / 10) });
      await ingest({ sha: shaOf(6), authored: daysAgo(1 / 10) }); // the same date as commit 1: the id breaks the tie
      const seen: string[] = [];
      let cursor: ReturnType<typeof decodeCursor>;
      for (let pages = 0; pages < 5; pages++) {
        const page = await commitsInWindow(database.db, { projectId: 'group/repo' }, { ...noOptions, withOutputs: false }, { limit: 2, cursor });
        seen.push(...page.commits.map((c) => c.id));
        if (!page.next) break;
        cursor = decodeCursor(page.next);
      }
      expect(seen).toEqual([shaOf(6), shaOf(1), shaOf(2), shaOf(3), shaOf(4), shaOf(5)]);
      expect(decodeCursor('bm90IGEgY3Vyc29y')).toBeUndefined();
    });
  });
});
