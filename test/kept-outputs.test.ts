import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { queryRows } from '../src/db/client';
import { VersionedTexts } from '../src/lib/versioned-texts';
import { postJson, testApp, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

describe('VersionedTexts', () => {
  test('gives a text back for the version it was stored with only', () => {
    const texts = new VersionedTexts(100);
    texts.set('1', 'v1', 'one');
    expect(texts.get('1', 'v1')).toBe('one');
    expect(texts.get('1', 'v2')).toBeUndefined();
    texts.set('1', 'v2', 'uno');
    expect(texts.get('1', 'v1')).toBeUndefined();
    expect(texts.get('1', 'v2')).toBe('uno');
    expect(texts.size).toBe(3);
  });

  test('drops the least recently used past its size; never keeps a text larger than that', () => {
    const texts = new VersionedTexts(10);
    texts.set('a', 'v', 'aaaa');
    texts.set('b', 'v', 'bbbb');
    expect(texts.get('a', 'v')).toBe('aaaa'); // now b is the least recently used
    texts.set('c', 'v', 'cccc');
    expect(texts.get('b', 'v')).toBeUndefined();
    expect([texts.get('a', 'v'), texts.get('c', 'v'), texts.size]).toEqual(['aaaa', 'cccc', 8]);
    texts.set('big', 'v', 'x'.repeat(11));
    expect(texts.get('big', 'v')).toBeUndefined();
    expect(texts.size).toBe(8);
  });
});

/**
 * A server keeping the outputs of the commits it showed answers each read as one that keeps nothing
 * would, whatever changed in between: each kind of change below leaves a kept text stale if the
 * version misses it.
 */
describe.each(engineNames)('kept outputs on %s', (engine) => {
  let database: TestDatabase;
  let keeping: TestApp;
  let plain: TestApp;
  const commitPath = `/api/v1/commit/${shaOf(1)}?project=group%2Frepo`;
  const read = async (app: TestApp, path = commitPath) => {
    const response = await app.request(path);
    expect(response.status, path).toBe(200);
    return response.text();
  };
  const upload = async (spec: UploadSpec) => expect((await postJson(keeping, '/api/v1/output/', outputUpload(spec))).status).toBe(200);
  /** Reads through the keeping server (filling what it keeps), runs `change`, then expects both servers to agree. */
  const afterChange = async (change: () => Promise<unknown>) => {
    const before = await read(keeping);
    await change();
    const after = await read(keeping);
    expect(after).toBe(await read(plain));
    expect(after).not.toBe(before);
    return JSON.parse(after) as any;
  };

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    keeping = testApp(database.db);
    plain = testApp(database.db, { KEPT_OUTPUTS_MB: '0' });
  });
  beforeEach(async () => {
    await emptyTables(database.db);
    for (const input of ['in/1.jpg', 'in/2.jpg']) await upload({ sha: shaOf(1), input, metrics: { psnr: 30 } });
    await upload({ sha: shaOf(1), batch: 'tuning', metrics: { psnr: 31 } });
  });
  afterAll(() => database?.close());

  test('a read answers as a server keeping nothing, the first time and after', async () => {
    const first = await read(keeping);
    expect(first).toBe(await read(plain));
    expect(await read(keeping)).toBe(first);
    expect(Object.keys(JSON.parse(first).batches.default.outputs)).toHaveLength(2);
    // A batch filter and a metrics list change the summaries, not the outputs kept.
    const filtered = `${commitPath}&batch=tuning&metrics=${encodeURIComponent('{"psnr": 0}')}`;
    expect(await read(keeping, filtered)).toBe(await read(plain, filtered));
  });

  test('an upload changing an output', async () => {
    const commit = await afterChange(() => upload({ sha: shaOf(1), input: 'in/1.jpg', metrics: { psnr: 40 } }));
    expect(Object.values(commit.batches.default.outputs).map((o: any) => o.metrics.psnr).sort()).toEqual([30, 40]);
  });

  test('an upload adding an output', async () => {
    const commit = await afterChange(() => upload({ sha: shaOf(1), input: 'in/3.jpg' }));
    expect(Object.keys(commit.batches.default.outputs)).toHaveLength(3);
  });

  test("another commit's upload changing the metadata of a test input the outputs show", async () => {
    const commit = await afterChange(() => upload({ sha: shaOf(2), input: 'in/1.jpg', extra: { input_metadata: { iso: 1600 } } }));
    const shown = Object.values(commit.batches.default.outputs).find((o: any) => o.test_input_path === 'in/1.jpg') as any;
    expect(shown.test_input_metadata).toEqual({ iso: 1600 });
  });

  test('a web write deleting an output', async () => {
    const [output] = await queryRows<{ id: number }>(database.db, sql`SELECT id FROM outputs ORDER BY id LIMIT 1`);
    const commit = await afterChange(async () => expect((await keeping.request(`/api/v1/output/${output!.id}/?soft=true`, { method: 'DELETE' })).status).toBe(200));
    expect(commit.batches.default.outputs[output!.id].deleted).toBe(true);
  });

  test("the project's storage moving to R2: the outputs' URLs change", async () => {
    const commit = await afterChange(() =>
      database.db.execute(sql`UPDATE projects SET data = jsonb_set(data, '{qatools_config}', COALESCE(data -> 'qatools_config', '{}') || '{"storage": {"mode": "r2"}}')`),
    );
    for (const output of Object.values(commit.batches.default.outputs) as any[]) expect(output.output_dir_url).toMatch(/^\/s\/group\/repo\//);
  });
});
