/**
 * The CI flow end to end on the Node entry (`npm start`, files under QABOARD_DATA_DIR/artifacts):
 * `qa run` reports an output, `npx qaboard-edge upload` sends its folder, the web app's viewer
 * reads the manifest and the files, deleting the batch removes them.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { killOwned } from '../src/maintenance/owned-children';
import { startServer, type RunningServer } from './support/node-entry';
import { outputUpload } from './support/uploads';

type Json = Record<string, any>;
const ADMIN_TOKEN = 'bootstrap-admin-token-for-the-uploader';
let dataRoot: string;
let server: RunningServer;

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(tmpdir(), 'qaboard-uploader-'));
  server = await startServer(dataRoot, { FILES_STORAGE: 'r2', AUTH_MODE: 'write', ADMIN_TOKEN });
});
afterAll(async () => {
  if (server) await killOwned(server.child);
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

test('a CI job uploads an output folder; the viewer lists and reads it; deleting the batch removes it', async () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const reported = await fetch(`${server.url}/api/v1/output/`, { method: 'POST', headers: auth, body: JSON.stringify(outputUpload({ branch: 'feature' })) });
  expect(reported.status).toBe(200);
  const output = (await reported.json()) as Json;

  const folder = await mkdtemp(path.join(tmpdir(), 'qaboard-run-'));
  await mkdir(path.join(folder, 'images'));
  await writeFile(path.join(folder, 'images', 'result.png'), Buffer.alloc(300_000, 7));
  await writeFile(path.join(folder, 'metrics.json'), '{"psnr": 41.2}');
  await writeFile(path.join(folder, 'log.txt'), 'done\n');
  const host = `ci:${ADMIN_TOKEN}@${new URL(server.url).host}`;
  const run = await promisify(execFile)(process.execPath, ['bin/qaboard-edge.mjs', 'upload', folder, '--output', String(output.id)], {
    env: { ...process.env, QABOARD_PROTOCOL: 'http', QABOARD_HOST: host },
  });
  expect(run.stdout).toMatch(new RegExp(`3 files \\(300019 bytes, 0 presigned\\) uploaded to output ${output.id}`));

  // What the web app's OutputCard does for a finished output: `${output_dir_url}/manifest.outputs.json`, then the files.
  const { output_dir_url: dirUrl } = (await (await fetch(`${server.url}/api/v1/output/${output.id}`)).json()) as Json;
  const manifest = (await (await fetch(`${server.url}${dirUrl}/manifest.outputs.json`)).json()) as Json;
  expect(Object.keys(manifest).sort()).toEqual(['images/result.png', 'metrics.json']);
  expect(manifest['images/result.png'].st_size).toBe(300_000);
  const image = await fetch(`${server.url}${manifest['images/result.png'].url}`);
  expect(image.headers.get('content-type')).toBe('image/png');
  expect((await image.arrayBuffer()).byteLength).toBe(300_000);
  expect(await (await fetch(`${server.url}${dirUrl}/log.txt`)).text()).toBe('done\n');

  // Anonymous writes are refused (AUTH_MODE=write): the uploader needs the credential.
  const anonymous = await promisify(execFile)(process.execPath, ['bin/qaboard-edge.mjs', 'upload', folder, '--output', String(output.id)], {
    env: { ...process.env, QABOARD_PROTOCOL: 'http', QABOARD_HOST: new URL(server.url).host },
  }).catch((error: { code: number; stderr: string }) => error);
  expect(anonymous).toMatchObject({ code: 1, stderr: expect.stringMatching(/401/) });

  const batchId = Number(dirUrl.split('/').at(-2));
  expect((await fetch(`${server.url}/api/v1/batch/${batchId}?soft=false`, { method: 'DELETE', headers: { authorization: auth.authorization } })).status).toBe(200);
  const artifacts = path.join(dataRoot, 'artifacts');
  for (let i = 0; i < 100 && (await readdir(artifacts, { recursive: true, withFileTypes: true })).some((f) => f.isFile()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect((await readdir(artifacts, { recursive: true, withFileTypes: true })).filter((f) => f.isFile())).toEqual([]);
  expect((await fetch(`${server.url}${dirUrl}/log.txt`)).status).toBe(404);
  expect(existsSync(folder)).toBe(true);
  await rm(folder, { recursive: true, force: true });
});
