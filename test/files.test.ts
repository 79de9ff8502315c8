/**
 * Output files in `r2` storage mode on the Node entry (files under its artifacts folder, behind the
 * same ObjectStore interface as the ARTIFACTS bucket): where reads point, uploads, the manifest,
 * serving under `/s/` (ranges, ETags, signed URLs), other projects refused, deletion cascades.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { testApp, postJson, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

type Json = Record<string, any>;
const PROJECT = 'group/repo';
const q = encodeURIComponent;

describe.each(engineNames)('output files on %s', (engine) => {
  let database: TestDatabase;
  let app: TestApp;

  const upload = async (spec: UploadSpec = {}, target = app) => {
    const response = await postJson(target, '/api/v1/output/', outputUpload({ project: PROJECT, ...spec }));
    expect(response.status).toBe(200);
    return (await response.json()) as Json;
  };
  const commitOf = async (sha = shaOf(1), target = app) =>
    (await (await target.request(`/api/v1/commit/${sha}?project=${q(PROJECT)}`)).json()) as Json;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db, { FILES_STORAGE: 'r2' });
  });
  beforeEach(() => emptyTables(database.db));
  afterAll(() => database?.close());

  describe('storage modes', () => {
    test('r2 projects point at /s/<project>/<commit>/<batch>/<output>; shared-disk ones keep their folders', async () => {
      const output = await upload();
      const commit = await commitOf();
      const batch = commit.batches.default;
      expect(commit.outputs_url).toBe(`/s/${PROJECT}/${shaOf(1)}`);
      expect(commit.artifacts_url).toBe(`/s/${PROJECT}/${shaOf(1)}/artifacts`);
      expect(batch.batch_dir_url).toBe(`/s/${PROJECT}/${shaOf(1)}/${batch.id}`);
      expect(batch.outputs[output.id].output_dir_url).toBe(`/s/${PROJECT}/${shaOf(1)}/${batch.id}/${output.id}`);
      const read = (await (await app.request(`/api/v1/output/${output.id}`)).json()) as Json;
      expect(read.output_dir_url).toBe(`/s/${PROJECT}/${shaOf(1)}/${batch.id}/${output.id}`);

      const sharedDisk = testApp(database.db);
      expect((await commitOf(shaOf(1), sharedDisk)).outputs_url).toMatch(/^\/s\/mnt\/qaboard\//);
    });

    test("qaboard.yaml's storage.mode wins over the server default", async () => {
      const sharedDisk = testApp(database.db);
      const output = await upload({ extra: { qaboard_config: { storage: { mode: 'r2' } } } }, sharedDisk);
      const read = (await (await sharedDisk.request(`/api/v1/output/${output.id}`)).json()) as Json;
      expect(read.output_dir_url).toMatch(new RegExp(`^/s/${PROJECT}/${shaOf(1)}/\\d+/${output.id}$`));
      await upload({ sha: shaOf(2), extra: { qaboard_config: { storage: { mode: 'shared-disk' } } } });
      expect((await commitOf(shaOf(2))).outputs_url).toMatch(/^\/s\/mnt\/qaboard\//);
    });
  });
});
