/**
 * Output files in `r2` storage mode on the Node entry (files under its artifacts folder, behind the
 * same ObjectStore interface as the ARTIFACTS bucket): where reads point, uploads, the manifest,
 * serving under `/s/` (ranges, ETags, signed URLs), other projects refused, deletion cascades.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { applyRetention } from '../src/maintenance/retention';
import { deleteFilesHandler, queueFileDeletions, type DeleteFilesJob } from '../src/maintenance/file-deletions';
import { InProcessQueue } from '../src/jobs/in-process-queue';
import { folderObjectStore } from '../src/lib/folder-object-store';
import { HOURLY_CLEANUP_CRON, runScheduledMaintenance } from '../src/maintenance/scheduled-jobs';
import { queryRows } from '../src/db/client';
import { testApp, postJson, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload, shaOf, type UploadSpec } from './support/uploads';

type Json = Record<string, any>;
const PROJECT = 'group/repo';
const q = encodeURIComponent;
const ADMIN_TOKEN = 'bootstrap-admin-token-for-file-tests';
const URL_SECRET = 'a-file-url-secret-of-at-least-32-characters';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Bytes that are not text: a PNG signature, then a pattern. */
const pngBytes = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i < 8 ? [137, 80, 78, 71, 13, 10, 26, 10][i]! : (i * 31) % 251));

function putFile(app: TestApp, outputId: number, path: string, body: Uint8Array, headers: Record<string, string> = {}) {
  return app.request(`/api/v1/output/${outputId}/files/${path}`, {
    method: 'PUT',
    headers: { 'content-length': String(body.length), ...headers },
    body,
  });
}

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

  const artifactsFolder = mkdtempSync(path.join(tmpdir(), 'qaboard-files-test-'));

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    app = testApp(database.db, { FILES_STORAGE: 'r2' }, { artifactsFolder });
  });
  beforeEach(async () => {
    await emptyTables(database.db);
    await database.db.execute(sql`TRUNCATE file_deletions RESTART IDENTITY`);
    // Ids start again with the tables: so do the files.
    await rm(artifactsFolder, { recursive: true, force: true });
  });
  afterAll(() => database?.close());

  describe('storage modes', () => {
    test('r2 projects point at /s/<project>/<commit>/<batch>/<output>; shared-disk ones keep their folders', async () => {
      const output = await upload();
      const commit = await commitOf();
      const batch = commit.batches.default;
      // The upload's answer too: the qa CLI writes the files where it says (no storage in qaboard.yaml: FILES_STORAGE's).
      expect(output.output_dir_url).toBe(`/s/${PROJECT}/${shaOf(1)}/${batch.id}/${output.id}`);
      expect(commit.outputs_url).toBe(`/s/${PROJECT}/${shaOf(1)}`);
      expect(commit.artifacts_url).toBe(`/s/${PROJECT}/${shaOf(1)}/artifacts`);
      expect(batch.batch_dir_url).toBe(`/s/${PROJECT}/${shaOf(1)}/${batch.id}`);
      expect(batch.outputs[output.id].output_dir_url).toBe(`/s/${PROJECT}/${shaOf(1)}/${batch.id}/${output.id}`);
      const read = (await (await app.request(`/api/v1/output/${output.id}`)).json()) as Json;
      expect(read.output_dir_url).toBe(`/s/${PROJECT}/${shaOf(1)}/${batch.id}/${output.id}`);

      const sharedDisk = testApp(database.db);
      expect((await commitOf(shaOf(1), sharedDisk)).outputs_url).toMatch(/^\/s\/mnt\/qaboard\//);
      expect((await upload({}, sharedDisk)).output_dir_url).toMatch(/^\/s\/mnt\/qaboard\//);
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

  describe('upload, manifest, serving', () => {
    test('a PUT stores the file where output_dir_url points; the manifest lists it; /s/ serves it', async () => {
      const output = await upload({ status: 'running' });
      const image = pngBytes(5000);
      const stored = await putFile(app, output.id, 'images/result.png', image, { 'x-content-sha256': sha256Hex(image) });
      expect(stored.status).toBe(201);
      const body = (await stored.json()) as Json;
      const read = (await (await app.request(`/api/v1/output/${output.id}`)).json()) as Json;
      expect(body).toMatchObject({ path: 'images/result.png', size: 5000, url: `${read.output_dir_url}/images/result.png` });
      expect((await putFile(app, output.id, 'log.txt', new TextEncoder().encode('run log'))).status).toBe(201);
      expect((await putFile(app, output.id, 'metrics.json', new TextEncoder().encode('{"psnr": 1'), { 'content-type': 'application/json' })).status).toBe(201);

      const manifest = (await (await app.request(`/api/v1/output/${output.id}/manifest/`)).json()) as Json;
      expect(manifest).toEqual({
        'images/result.png': { st_size: 5000, url: `${read.output_dir_url}/images/result.png` },
        'metrics.json': { st_size: 10, url: `${read.output_dir_url}/metrics.json` },
      });

      const served = await app.request(`${read.output_dir_url}/images/result.png`);
      expect(served.status).toBe(200);
      expect(served.headers.get('content-type')).toBe('image/png');
      expect(served.headers.get('content-length')).toBe('5000');
      expect(served.headers.get('cache-control')).toBe('public, max-age=300');
      expect(served.headers.get('content-security-policy')).toMatch(/^sandbox/);
      expect(new Uint8Array(await served.arrayBuffer())).toEqual(image);
      expect((await app.request(`${read.output_dir_url}/metrics.json`)).headers.get('content-type')).toBe('application/json');
      expect(await (await app.request(`${read.output_dir_url}/log.txt`)).text()).toBe('run log');
      expect((await app.request(`${read.output_dir_url}/missing.png`)).status).toBe(404);
    });

    test('ranges (206, suffix, 416) and ETags (304)', async () => {
      const output = await upload();
      const image = pngBytes(10_000);
      expect((await putFile(app, output.id, 'a.png', image)).status).toBe(201);
      const url = ((await (await app.request(`/api/v1/output/${output.id}`)).json()) as Json).output_dir_url + '/a.png';
      const part = await app.request(url, { headers: { range: 'bytes=100-199' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe('bytes 100-199/10000');
      expect(new Uint8Array(await part.arrayBuffer())).toEqual(image.slice(100, 200));
      const suffix = await app.request(url, { headers: { range: 'bytes=-10' } });
      expect(suffix.status).toBe(206);
      expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(image.slice(-10));
      const open = await app.request(url, { headers: { range: 'bytes=9990-' } });
      expect(open.headers.get('content-range')).toBe('bytes 9990-9999/10000');
      const outside = await app.request(url, { headers: { range: 'bytes=10000-' } });
      expect(outside.status).toBe(416);
      expect(outside.headers.get('content-range')).toBe('bytes */10000');

      const etag = (await app.request(url)).headers.get('etag')!;
      expect(etag).toMatch(/^"/);
      const notModified = await app.request(url, { headers: { 'if-none-match': etag } });
      expect(notModified.status).toBe(304);
      expect(await notModified.text()).toBe('');
      expect((await app.request(url, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    });

    test('bad uploads are refused and store nothing', async () => {
      const output = await upload();
      const bytes = pngBytes(100);
      const problem = async (response: Response, status: number, field?: string) => {
        expect(response.status).toBe(status);
        const body = (await response.json()) as Json;
        if (field) expect(body.errors.map((e: Json) => e.field)).toContain(field);
        return body;
      };
      await problem(await putFile(app, output.id, 'a.png', bytes, { 'x-content-sha256': sha256Hex(pngBytes(99)) }), 400, 'x-content-sha256');
      await problem(await putFile(app, output.id, 'a.png', bytes, { 'x-content-sha256': 'nothex' }), 400, 'x-content-sha256');
      // Dot segments in the URL itself are resolved by URL parsing before any route sees them; encoded slashes are not.
      await problem(await putFile(app, output.id, '%2E%2E%2F%2E%2E%2Fb.png', bytes), 400, 'path');
      await problem(await putFile(app, output.id, 'a/..%2F..%2Fb.png', bytes), 400, 'path');
      await problem(await putFile(app, output.id, 'a//b.png', bytes), 400, 'path');
      await problem(await putFile(app, output.id, 'a%5Cb.png', bytes), 400, 'path');
      const small = testApp(database.db, { FILES_STORAGE: 'r2', FILES_MAX_BYTES: '50' });
      const tooLarge = await problem(await putFile(small, output.id, 'a.png', bytes), 413);
      expect(tooLarge.detail).toMatch(/files:sign/);
      await problem(await app.request(`/api/v1/output/${output.id}/files/a.png`, { method: 'PUT', body: bytes }), 411);
      await problem(await putFile(app, 999_999, 'a.png', bytes), 404);
      const manifest = (await (await app.request(`/api/v1/output/${output.id}/manifest?refresh=true`)).json()) as Json;
      expect(manifest).toEqual({});
    });

    test('the manifest is cached once the output is done, listed again on refresh, taken from an upload', async () => {
      const output = await upload();
      await putFile(app, output.id, 'a.png', pngBytes(10));
      const first = (await (await app.request(`/api/v1/output/${output.id}/manifest`)).json()) as Json;
      expect(Object.keys(first)).toEqual(['a.png']);
      // A file added behind the API's back (as a presigned upload does) shows only on refresh.
      const prefix = decodeURIComponent(first['a.png'].url.slice('/s/'.length, -'/a.png'.length));
      await writeFile(path.join(artifactsFolder, ...prefix.split('/'), 'c.png'), 'ccc');
      expect(Object.keys((await (await app.request(`/api/v1/output/${output.id}/manifest`)).json()) as Json)).toEqual(['a.png']);
      expect(Object.keys((await (await app.request(`/api/v1/output/${output.id}/manifest?refresh=true`)).json()) as Json)).toEqual(['a.png', 'c.png']);
      await putFile(app, output.id, 'manifest.outputs.json', new TextEncoder().encode(JSON.stringify({ 'a.png': { st_size: 10, md5: 'abc', url: 'file:///x' }, 'b.png': { st_size: 3, url: '' } })));
      const uploaded = (await (await app.request(`/api/v1/output/${output.id}/manifest`)).json()) as Json;
      expect(uploaded).toEqual({
        'a.png': { st_size: 10, md5: 'abc', url: `/s/${prefix}/a.png` },
        'b.png': { st_size: 3, url: `/s/${prefix}/b.png` },
      });
      // Served as a file too: the web app reads `${output_dir_url}/manifest.outputs.json` for finished outputs.
      expect(((await (await app.request(`/s/${prefix}/manifest.outputs.json`)).json()) as Json)['b.png'].st_size).toBe(3);
      const refreshed = (await (await app.request(`/api/v1/output/${output.id}/manifest?refresh=true`)).json()) as Json;
      expect(Object.keys(refreshed)).toEqual(['a.png', 'c.png']);
    });

    test('shared-disk projects: a 404 problem saying their web server owns the files', async () => {
      const sharedDisk = testApp(database.db);
      const output = await upload({}, sharedDisk);
      const response = await sharedDisk.request(`/api/v1/output/${output.id}/manifest`);
      expect(response.status).toBe(404);
      expect(((await response.json()) as Json).detail).toMatch(/shared disk.*web server/);
      expect((await putFile(sharedDisk, output.id, 'a.png', pngBytes(10))).status).toBe(404);
    });
  });

  describe('access', () => {
    let privateApp: TestApp;
    let own: string;
    let other: string;
    let ownReader: string;

    const newToken = async (spec: object) => {
      const response = await postJson(privateApp, '/api/v1/tokens', spec, bearer(ADMIN_TOKEN));
      expect(response.status).toBe(201);
      return ((await response.json()) as { token: string }).token;
    };

    beforeAll(() => {
      privateApp = testApp(database.db, { FILES_STORAGE: 'r2', AUTH_MODE: 'all', ADMIN_TOKEN, FILES_URL_SECRET: URL_SECRET, FILES_URL_TTL_SECONDS: '60' }, { artifactsFolder });
    });
    beforeEach(async () => {
      own = await newToken({ name: 'ci', scopes: ['write'], project_prefix: PROJECT });
      other = await newToken({ name: 'other ci', scopes: ['write'], project_prefix: 'group/other' });
      ownReader = await newToken({ name: 'reader', scopes: ['read'], project_prefix: PROJECT });
    });
    afterAll(() => vi.useRealTimers());

    const privateUpload = async () => {
      const response = await postJson(privateApp, '/api/v1/output/', outputUpload({ project: PROJECT }), bearer(own));
      expect(response.status).toBe(200);
      return (await response.json()) as Json;
    };

    test('uploads need write on the output\'s project: other projects 404, read-only 403, none 401', async () => {
      const output = await privateUpload();
      const bytes = pngBytes(64);
      expect((await putFile(privateApp, output.id, 'a.png', bytes, bearer(other))).status).toBe(404);
      expect((await putFile(privateApp, output.id, 'a.png', bytes, bearer(ownReader))).status).toBe(403);
      expect((await putFile(privateApp, output.id, 'a.png', bytes)).status).toBe(401);
      expect(await (await privateApp.request(`/api/v1/output/${output.id}/manifest?refresh=true`, { headers: bearer(own) })).json()).toEqual({});
      expect((await putFile(privateApp, output.id, 'a.png', bytes, bearer(own))).status).toBe(201);
    });

    test('private files: a credential of the project, or a signed URL from the manifest; expiry and tampering refused', async () => {
      const output = await privateUpload();
      const bytes = pngBytes(64);
      expect((await putFile(privateApp, output.id, 'img/a.png', bytes, bearer(own))).status).toBe(201);
      expect((await privateApp.request(`/api/v1/output/${output.id}/manifest`, { headers: bearer(other) })).status).toBe(404);
      const manifest = (await (await privateApp.request(`/api/v1/output/${output.id}/manifest`, { headers: bearer(ownReader) })).json()) as Json;
      const signed = new URL(manifest['img/a.png'].url, 'http://x');
      expect(signed.searchParams.get('signature')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const plain = signed.pathname;

      expect((await privateApp.request(plain)).status).toBe(401);
      expect((await privateApp.request(plain, { headers: bearer(other) })).status).toBe(404);
      const withToken = await privateApp.request(plain, { headers: bearer(ownReader) });
      expect(withToken.status).toBe(200);
      expect(withToken.headers.get('cache-control')).toBe('private, max-age=300');
      const head = await privateApp.request(`${plain}${signed.search}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('64');
      const bySignature = await privateApp.request(`${plain}${signed.search}`);
      expect(bySignature.status).toBe(200);
      expect(new Uint8Array(await bySignature.arrayBuffer())).toEqual(bytes);

      const expires = signed.searchParams.get('expires')!;
      const signature = signed.searchParams.get('signature')!;
      const tampered = [
        `${plain.replace('a.png', 'b.png')}${signed.search}`,
        `${plain}?expires=${Number(expires) + 3600}&signature=${signature}`,
        `${plain}?expires=${expires}&signature=${signature.slice(0, -2)}AA`,
        `${plain}?expires=${expires}&signature=not*base64`,
        `${plain}?expires=${expires}`,
      ];
      for (const url of tampered) expect((await privateApp.request(url)).status, url).toBe(403);

      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 61_000);
      const expired = await privateApp.request(`${plain}${signed.search}`);
      expect(expired.status).toBe(403);
      expect(((await expired.json()) as Json).detail).toMatch(/expired/);
      vi.useRealTimers();
    });

    test('without FILES_URL_SECRET, private manifests carry plain URLs and signatures are refused', async () => {
      const unsigned = testApp(database.db, { FILES_STORAGE: 'r2', AUTH_MODE: 'all', ADMIN_TOKEN }, { artifactsFolder });
      const output = await privateUpload();
      await putFile(privateApp, output.id, 'a.png', pngBytes(8), bearer(own));
      const manifest = (await (await unsigned.request(`/api/v1/output/${output.id}/manifest`, { headers: bearer(own) })).json()) as Json;
      expect(manifest['a.png'].url).not.toContain('?');
      expect((await unsigned.request(`${manifest['a.png'].url}?expires=9999999999&signature=AAAA`)).status).toBe(403);
    });
  });

  describe('lifecycle', () => {
    /** The keys stored under the commit, relative to it. */
    const storedUnder = async (sha = shaOf(1)) => {
      const root = path.join(artifactsFolder, ...PROJECT.split('/'), sha);
      const files = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
      return files.filter((f) => f.isFile()).map((f) => path.relative(root, path.join(f.parentPath, f.name))).sort();
    };
    /** Outbox rows for these prefixes, as a deletion records them. */
    const recorded = async (prefixes: string[]) =>
      (await queryRows<{ id: number }>(database.db, sql`INSERT INTO file_deletions (prefix) SELECT jsonb_array_elements_text(${JSON.stringify(prefixes)}::jsonb) RETURNING id`)).map((r) => r.id);
    const pendingDeletions = async () => queryRows<{ prefix: string; pattern: string | null }>(database.db, sql`SELECT prefix, pattern FROM file_deletions ORDER BY id`);
    const withFiles = async (spec: UploadSpec) => {
      const output = await upload(spec);
      expect((await putFile(app, output.id, 'a.png', pngBytes(10))).status).toBe(201);
      expect((await putFile(app, output.id, 'deep/b.txt', pngBytes(5))).status).toBe(201);
      return output;
    };

    test('deleting an output, a batch, a commit\'s batches removes their files through the maintenance queue', async () => {
      // Not the reference branch: the head of master can't lose its batches.
      const first = await withFiles({ input: 'one.jpg', branch: 'feature' });
      const second = await withFiles({ input: 'two.jpg', branch: 'feature' });
      const failed = await withFiles({ input: 'three.jpg', status: 'failed', branch: 'feature' });
      const other = await withFiles({ batch: 'other', input: 'one.jpg', branch: 'feature' });
      const batchId = (await commitOf()).batches.default.id;
      expect(await storedUnder()).toHaveLength(8);

      expect((await app.request(`/api/v1/output/${first.id}`, { method: 'DELETE' })).status).toBe(200);
      await app.fileDeletions.idle();
      expect(await storedUnder()).not.toContain(`${batchId}/${first.id}/a.png`);
      expect(await storedUnder()).toHaveLength(6);

      expect((await app.request(`/api/v1/batch/${batchId}?only_failed=true&soft=false`, { method: 'DELETE' })).status).toBe(200);
      await app.fileDeletions.idle();
      expect(await storedUnder()).toEqual([`${batchId}/${second.id}/a.png`, `${batchId}/${second.id}/deep/b.txt`, `${(await commitOf()).batches.other.id}/${other.id}/a.png`, `${(await commitOf()).batches.other.id}/${other.id}/deep/b.txt`].sort());
      expect(failed.id).toBeGreaterThan(0);

      expect((await app.request(`/api/v1/batch/${batchId}?soft=false`, { method: 'DELETE' })).status).toBe(200);
      await app.fileDeletions.idle();
      expect(await storedUnder()).toHaveLength(2);

      // A deletion delivered twice (at-least-once queues) finds nothing more to do; done, its outbox row is gone.
      await queueFileDeletions(app.fileDeletions, await recorded([`${PROJECT}/${shaOf(1)}/${batchId}/`]));
      await app.fileDeletions.idle();
      expect(app.fileDeletions.deadLetters).toEqual([]);
      expect(await pendingDeletions()).toEqual([]);

      await withFiles({ sha: shaOf(2), branch: 'feature' });
      expect((await app.request(`/api/v1/commit/${PROJECT}/${shaOf(1)}/batches`, { method: 'DELETE' })).status).toBe(200);
      await app.fileDeletions.idle();
      expect(await storedUnder()).toEqual([]);
      expect(await storedUnder(shaOf(2))).toHaveLength(2);
    });

    test('retention removes the files of the outputs it marks deleted; soft deletes remove them too', async () => {
      const old = await withFiles({ sha: shaOf(1), branch: 'feature' });
      const kept = await withFiles({ sha: shaOf(2), branch: 'feature' });
      await database.db.execute(sql`UPDATE projects SET data = jsonb_set(data, '{qatools_config}', '{"storage": {"mode": "r2", "garbage": {"after": "1month"}}}')`);
      await database.db.execute(sql`UPDATE ci_commits SET authored_datetime = now() - interval '90 days' WHERE hexsha = ${shaOf(1)}`);
      await database.db.execute(sql`UPDATE outputs SET created_date = now() - interval '90 days' WHERE id = ${old.id}`);
      expect(await applyRetention(database.db, new Date(), (ids) => queueFileDeletions(app.fileDeletions, ids))).toEqual({ commits: 1, outputs: 1 });
      await app.fileDeletions.idle();
      expect(await storedUnder(shaOf(1))).toEqual([]);
      expect(await storedUnder(shaOf(2))).toHaveLength(2);

      expect((await app.request(`/api/v1/output/${kept.id}?soft=true`, { method: 'DELETE' })).status).toBe(200);
      await app.fileDeletions.idle();
      expect(await storedUnder(shaOf(2))).toEqual([]);
    });

    test('the deletion job never deletes above a batch', async () => {
      const output = await withFiles({});
      await queueFileDeletions(app.fileDeletions, await recorded([`${PROJECT}/`, `${PROJECT}/${shaOf(1)}/`, 'group/', `/${PROJECT}/${shaOf(1)}/1/`, `${PROJECT}/${shaOf(1)}/1`]));
      await app.fileDeletions.idle();
      expect(await storedUnder()).toHaveLength(2);
      // Refused for good: not left in the outbox for every drain to refuse again.
      expect(await pendingDeletions()).toEqual([]);
      expect(output.id).toBeGreaterThan(0);
    });

    const SETTINGS = { keepDailyBackups: 7, keepWeeklyBackups: 4, staleRunHours: 24, rowsPerPart: 1000 };
    /** The hourly cron, late enough for the drain to see today's rows as overdue. */
    const hourlyCleanup = async () => {
      const later = new Date(Date.now() + 11 * 60_000);
      await runScheduledMaintenance(database.db, async () => {}, SETTINGS, HOURLY_CLEANUP_CRON, later, app.fileDeletions);
      await app.fileDeletions.idle();
    };

    test('a deletion whose queue send fails is recorded in the outbox, and the hourly drain deletes its files', async () => {
      await withFiles({ branch: 'feature' });
      const batchId = (await commitOf()).batches.default.id;
      const send = vi.spyOn(app.fileDeletions, 'send').mockRejectedValueOnce(new Error('queue unavailable'));
      try {
        // The rows are gone for good: the answer says so, whatever the queue did.
        expect((await app.request(`/api/v1/batch/${batchId}?soft=false`, { method: 'DELETE' })).status).toBe(200);
        expect(send).toHaveBeenCalledTimes(1);
      } finally {
        send.mockRestore();
      }
      await app.fileDeletions.idle();
      expect(await storedUnder()).toHaveLength(2);
      expect(await pendingDeletions()).toEqual([{ prefix: `${PROJECT}/${shaOf(1)}/${batchId}/`, pattern: null }]);
      await hourlyCleanup();
      expect(await storedUnder()).toEqual([]);
      expect(await pendingDeletions()).toEqual([]);
    });

    test('a late drain keeps the files uploaded after the deletion (a soft-deleted output redone)', async () => {
      const output = await withFiles({ branch: 'feature' });
      const send = vi.spyOn(app.fileDeletions, 'send').mockRejectedValueOnce(new Error('queue unavailable'));
      expect((await app.request(`/api/v1/output/${output.id}?soft=true`, { method: 'DELETE' })).status).toBe(200);
      send.mockRestore();
      // Past the filesystem's coarse clock (mtimes may lag the database's now() by a tick).
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await putFile(app, output.id, 'redone.png', pngBytes(4))).status).toBe(201);
      await hourlyCleanup();
      expect((await storedUnder()).map((f) => f.split('/').slice(2).join('/'))).toEqual(['redone.png']);
      expect(await pendingDeletions()).toEqual([]);
    });

    test("a batch's filter deletes the matching files of its outputs (fnmatch on the path inside each), keeping the outputs", async () => {
      const first = await withFiles({ input: 'one.jpg', branch: 'feature' });
      const failed = await withFiles({ input: 'two.jpg', status: 'failed', branch: 'feature' });
      for (const output of [first, failed]) {
        for (const file of ['deep/c.png', 'C.PNG', 'log.txt', 'notes.txt']) expect((await putFile(app, output.id, file, pngBytes(3))).status).toBe(201);
      }
      const batchId = (await commitOf()).batches.default.id;
      const files = async (output: Json) => (await storedUnder()).filter((f) => f.startsWith(`${batchId}/${output.id}/`)).map((f) => f.split('/').slice(2).join('/'));
      const manifest = async (output: Json) => Object.keys((await (await app.request(`/api/v1/output/${output.id}/manifest`)).json()) as Json);
      expect(await manifest(first)).toEqual(['C.PNG', 'a.png', 'deep/b.txt', 'deep/c.png', 'notes.txt']); // cached now

      const filtered = await app.request(`/api/v1/batch/${batchId}?soft=true&filter=${q('*.png')}`, { method: 'DELETE' });
      expect(filtered.status).toBe(200);
      expect(await filtered.json()).toMatchObject({ deleted_outputs: 0, batch_deleted: false });
      await app.fileDeletions.idle();
      // `*` crosses folders, case counts; the cached manifest went with the files.
      expect(await files(first)).toEqual(['C.PNG', 'deep/b.txt', 'log.txt', 'notes.txt']);
      expect(await files(failed)).toEqual(['C.PNG', 'deep/b.txt', 'log.txt', 'notes.txt']);
      expect(await manifest(first)).toEqual(['C.PNG', 'deep/b.txt', 'notes.txt']);
      const rows = await queryRows<{ deleted: boolean }>(database.db, sql`SELECT deleted FROM outputs ORDER BY id`);
      expect(rows).toEqual([{ deleted: false }, { deleted: false }]);

      // Only the failed outputs'; the manifest's exceptions (log.txt) stay whatever the pattern.
      expect((await app.request(`/api/v1/batch/${batchId}?soft=true&only_failed=true&filter=${q('*.txt')}`, { method: 'DELETE' })).status).toBe(200);
      await app.fileDeletions.idle();
      expect(await files(failed)).toEqual(['C.PNG', 'log.txt']);
      expect(await files(first)).toEqual(['C.PNG', 'deep/b.txt', 'log.txt', 'manifest.outputs.json', 'notes.txt']);
      expect((await app.request(`/api/v1/batch/${batchId}?soft=true&filter=${q('[A-C]?PNG')}`, { method: 'DELETE' })).status).toBe(200);
      await app.fileDeletions.idle();
      expect(await files(first)).toEqual(['deep/b.txt', 'log.txt', 'notes.txt']);

      const invalid = await app.request(`/api/v1/batch/${batchId}?soft=true&filter=${q('[z-a].png')}`, { method: 'DELETE' });
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as Json).errors.map((e: Json) => e.field)).toContain('filter');
      // A long pattern costs RE2 (re2js) superlinearly per file: 4,096 characters of `*?` took ~250 ms per
      // 1,024-character path, a stalled event loop for a whole output. Filters are kept short.
      const long = await app.request(`/api/v1/batch/${batchId}?soft=true&filter=${q('*?'.repeat(129))}`, { method: 'DELETE' });
      expect(long.status).toBe(400);
      expect(((await long.json()) as Json).errors.map((e: Json) => e.field)).toContain('filter');
      expect(await pendingDeletions()).toEqual([]);
    });

    describe('moving outputs to another batch (their prefix changes)', () => {
      /** Moves the output of input one.jpg from the default batch to `night`; answers both batch ids. */
      const moveOne = async () => {
        const from = (await commitOf()).batches.default.id as number;
        const moved = await postJson(app, '/api/v1/batch/move/', { id: from, label: 'night', filter: 'one' });
        expect(await moved.json()).toEqual({ status: 'OK', moved_outputs: 1 });
        return { from, to: (await commitOf()).batches.night.id as number };
      };
      const moving = async () => {
        const send = vi.spyOn(app.fileDeletions, 'send').mockRejectedValueOnce(new Error('queue unavailable'));
        try {
          return await moveOne();
        } finally {
          send.mockRestore();
        }
      };
      const deleteBatch = async (id: number) => expect((await app.request(`/api/v1/batch/${id}?soft=false`, { method: 'DELETE' })).status).toBe(200);

      test('the files follow: the manifest lists them, /s/ serves them at the new URL; deleting the old batch keeps them, the new one removes them', async () => {
        const moved = await withFiles({ input: 'one.jpg', branch: 'feature' });
        const stayed = await withFiles({ input: 'two.jpg', branch: 'feature' });
        expect(Object.keys((await (await app.request(`/api/v1/output/${moved.id}/manifest`)).json()) as Json)).toEqual(['a.png', 'deep/b.txt']); // cached now
        const { from, to } = await moveOne();
        await app.fileDeletions.idle();
        expect(await storedUnder()).toEqual(
          [`${from}/${stayed.id}/a.png`, `${from}/${stayed.id}/deep/b.txt`, `${to}/${moved.id}/a.png`, `${to}/${moved.id}/deep/b.txt`, `${to}/${moved.id}/manifest.outputs.json`].sort(),
        );
        const manifest = (await (await app.request(`/api/v1/output/${moved.id}/manifest`)).json()) as Json;
        expect(Object.keys(manifest)).toEqual(['a.png', 'deep/b.txt']);
        expect(manifest['a.png'].url).toContain(`/s/${PROJECT}/${shaOf(1)}/${to}/${moved.id}/a.png`);
        const served = await app.request(new URL(manifest['a.png'].url, 'http://localhost').pathname);
        expect(served.status).toBe(200);
        expect(new Uint8Array(await served.arrayBuffer())).toEqual(pngBytes(10));

        await deleteBatch(from);
        await app.fileDeletions.idle();
        expect(await storedUnder()).toEqual([`${to}/${moved.id}/a.png`, `${to}/${moved.id}/deep/b.txt`, `${to}/${moved.id}/manifest.outputs.json`]);
        await deleteBatch(to);
        await app.fileDeletions.idle();
        expect(await storedUnder()).toEqual([]);
        expect(await pendingDeletions()).toEqual([]);
      });

      test('a deletion of the old batch recorded before the move is done waits for it', async () => {
        const moved = await withFiles({ input: 'one.jpg', branch: 'feature' });
        await withFiles({ input: 'two.jpg', branch: 'feature' });
        const { from, to } = await moving();
        await deleteBatch(from);
        await app.fileDeletions.idle();
        // The deletion's message came and went: it left the moving files alone, and its row for later.
        expect(await storedUnder()).toHaveLength(4);
        expect(await pendingDeletions()).toEqual([
          { prefix: `${PROJECT}/${shaOf(1)}/${from}/${moved.id}/`, pattern: null },
          { prefix: `${PROJECT}/${shaOf(1)}/${from}/`, pattern: null },
        ]);
        await hourlyCleanup();
        expect(await storedUnder()).toEqual([`${to}/${moved.id}/a.png`, `${to}/${moved.id}/deep/b.txt`]);
        expect(await pendingDeletions()).toEqual([]);
      });

      test('a deletion of the new batch recorded before the move is done deletes the copies too', async () => {
        await withFiles({ input: 'one.jpg', branch: 'feature' });
        const stayed = await withFiles({ input: 'two.jpg', branch: 'feature' });
        const { from, to } = await moving();
        await deleteBatch(to);
        await app.fileDeletions.idle();
        expect(await storedUnder()).toHaveLength(4);
        await hourlyCleanup();
        expect(await storedUnder()).toEqual([`${from}/${stayed.id}/a.png`, `${from}/${stayed.id}/deep/b.txt`]);
        expect(await pendingDeletions()).toEqual([]);
      });

      test('shared-disk projects: nothing is recorded, nothing in the store moves (the site owns its files)', async () => {
        const moved = await withFiles({ input: 'one.jpg', branch: 'feature' });
        await database.db.execute(sql`UPDATE projects SET data = jsonb_set(data, '{qatools_config}', '{"storage": {"mode": "shared-disk"}}')`);
        const { from } = await moving();
        expect(await pendingDeletions()).toEqual([]);
        expect(await storedUnder()).toEqual([`${from}/${moved.id}/a.png`, `${from}/${moved.id}/deep/b.txt`]);
      });

      test('redelivered, a move copies nothing twice; done, it changes nothing more', async () => {
        const moved = await withFiles({ input: 'one.jpg', branch: 'feature' });
        const { from, to } = await moving();
        // A consumer of its own, over a store whose first delete fails: the queue delivers again at once.
        const store = folderObjectStore(artifactsFolder);
        const queue = new InProcessQueue<DeleteFilesJob>({ name: 'moves', maxRetries: 2, delayScale: 0 });
        queue.consume(deleteFilesHandler(database.db, store, queue));
        const puts = vi.spyOn(store, 'putStream');
        const deletes = vi.spyOn(store, 'delete').mockRejectedValueOnce(new Error('bucket unavailable'));
        const [row] = await queryRows<{ id: number }>(database.db, sql`SELECT id FROM file_deletions`);
        await queueFileDeletions(queue, [row!.id]);
        await queue.idle();
        expect(puts).toHaveBeenCalledTimes(2);
        expect(deletes).toHaveBeenCalledTimes(2);
        const after = await storedUnder();
        expect(after).toEqual([`${to}/${moved.id}/a.png`, `${to}/${moved.id}/deep/b.txt`]);

        // Delivered again once done (its row gone, or recorded again as by a restore): nothing changes.
        await queueFileDeletions(queue, [row!.id]);
        const [again] = await queryRows<{ id: number }>(
          database.db,
          sql`INSERT INTO file_deletions (prefix, move_to) VALUES (${`${PROJECT}/${shaOf(1)}/${from}/${moved.id}/`}, ${`${PROJECT}/${shaOf(1)}/${to}/${moved.id}/`}) RETURNING id`,
        );
        await queueFileDeletions(queue, [again!.id]);
        await queue.idle();
        expect(puts).toHaveBeenCalledTimes(2);
        expect(await storedUnder()).toEqual(after);
        expect(queue.deadLetters).toEqual([]);
        expect(await pendingDeletions()).toEqual([]);
      });
    });
  });

  describe('presigned uploads', () => {
    const R2 = { R2_ACCOUNT_ID: '0123456789abcdef0123456789abcdef', R2_ACCESS_KEY_ID: 'test-access-key', R2_SECRET_ACCESS_KEY: 'test-secret-key', R2_ARTIFACTS_BUCKET: 'artifacts-test' };

    test('files:sign answers S3-API PUT URLs under the output prefix, signing the checksum and content type', async () => {
      const signing = testApp(database.db, { FILES_STORAGE: 'r2', ...R2 }, { artifactsFolder });
      const output = await upload();
      const read = (await (await signing.request(`/api/v1/output/${output.id}`)).json()) as Json;
      const sha = sha256Hex(pngBytes(100));
      const response = await postJson(signing, `/api/v1/output/${output.id}/files:sign`, {
        files: [{ path: 'video/run 1.mp4' }, { path: 'a.png', sha256: sha, content_type: 'image/png' }],
      });
      expect(response.status).toBe(200);
      const { uploads } = (await response.json()) as Json;
      expect(uploads.map((u: Json) => u.path)).toEqual(['video/run 1.mp4', 'a.png']);
      const [video, image] = uploads.map((u: Json) => new URL(u.url));
      const key = `${decodeURIComponent(read.output_dir_url.slice('/s/'.length))}/video/run 1.mp4`;
      expect(video.origin).toBe(`https://${R2.R2_ACCOUNT_ID}.r2.cloudflarestorage.com`);
      expect(decodeURIComponent(video.pathname)).toBe(`/artifacts-test/${key}`);
      expect(video.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
      expect(video.searchParams.get('X-Amz-Expires')).toBe('900');
      expect(video.searchParams.get('X-Amz-Credential')).toMatch(/^test-access-key\/\d{8}\/auto\/s3\/aws4_request$/);
      expect(video.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(uploads[0].headers).toEqual({ 'content-type': 'video/mp4' });
      expect(uploads[1].headers).toEqual({ 'content-type': 'image/png', 'x-amz-checksum-sha256': Buffer.from(sha, 'hex').toString('base64') });
      expect(image.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host;x-amz-checksum-sha256');
      expect(video.searchParams.get('X-Amz-Signature')).not.toBe(image.searchParams.get('X-Amz-Signature'));
      expect(Date.parse(uploads[0].expires_at) - Date.now()).toBeGreaterThan(800_000);

      const traversal = await postJson(signing, `/api/v1/output/${output.id}/files:sign`, { files: [{ path: 'ok.png' }, { path: '../x.png' }] });
      expect(traversal.status).toBe(400);
      expect(((await traversal.json()) as Json).errors.map((e: Json) => e.field)).toContain('files.1.path');
      expect((await postJson(signing, '/api/v1/output/999999/files:sign', { files: [{ path: 'a.png' }] })).status).toBe(404);
    });

    test('without R2 credentials: a 503 problem saying what to configure', async () => {
      const output = await upload();
      const response = await postJson(app, `/api/v1/output/${output.id}/files:sign`, { files: [{ path: 'a.png' }] });
      expect(response.status).toBe(503);
      expect(((await response.json()) as Json).detail).toMatch(/R2_ACCESS_KEY_ID/);
    });
  });
});
