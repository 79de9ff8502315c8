/**
 * The embedded default as a user runs it: the bundled Node entry (`npm start`) on a PGlite folder, in
 * its own process. One owner per folder, backups through the running server, a SIGKILL survived,
 * and the start-up budget (first start < 5 s, RSS < 250 MB).
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectNodeDatabase, REPO_ROOT } from '../src/db/connect-node';
import { DataFolderInUseError } from '../src/db/data-folder-lock';
import { pgliteVersion, templateFile } from '../src/db/pglite-template';
import type { BackupManifest } from '../src/maintenance/backup-format';
import { killOwned } from '../src/maintenance/owned-children';
import { peakRssMb, runScript, startServer, type RunningServer } from './support/node-entry';
import { outputUpload, shaOf } from './support/uploads';

const folders: string[] = [];
async function scratchFolder() {
  const folder = await mkdtemp(path.join(tmpdir(), 'qaboard-embedded-'));
  folders.push(folder);
  return folder;
}
afterAll(() => Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))));

/** Posts uploads 4 at a time until stopped; `acknowledged` holds the id of every upload answered 200. */
function loadUploads(server: RunningServer) {
  const acknowledged: number[] = [];
  let stopped = false;
  let next = 0;
  const loops = Array.from({ length: 4 }, async () => {
    while (!stopped) {
      const i = next++;
      const body = outputUpload({ project: 'embedded/load', sha: shaOf((i % 5) + 1), input: `inputs/${i}.jpg`, metrics: { psnr: i } });
      const answer = await fetch(`${server.url}/api/v1/output/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).catch(() => undefined); // the server was killed mid-request: not acknowledged
      if (answer?.status === 200) acknowledged.push(((await answer.json()) as { id: number }).id);
    }
  });
  const until = async (count: number) => {
    while (acknowledged.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  const stop = async () => {
    stopped = true;
    await Promise.all(loops);
  };
  return { acknowledged, until, stop };
}

test('a data-folder template exists for the installed PGlite (else: npm run db:pglite-template)', () => {
  // Without it every first start runs PGlite's initdb again (4–8 s, ~900 MB).
  expect(existsSync(templateFile(REPO_ROOT)), `no template for PGlite ${pgliteVersion()}`).toBe(true);
});

describe('the embedded database under the Node entry', () => {
  let dataRoot: string;
  let server: RunningServer;

  beforeAll(async () => {
    dataRoot = await scratchFolder();
    server = await startServer(dataRoot);
  });
  afterAll(async () => {
    if (server) await killOwned(server.child);
  });

  test.runIf(process.platform === 'linux')('a first start on an empty folder takes under 5 s of work and 250 MB of RSS', async () => {
    // The start in beforeAll was a first start: the folder was empty. Its CPU time, not its wall time,
    // is what is asserted: `npm test` runs files in parallel on 2 shared cores, where the wall time of
    // the same start varies 1–6 s (npm run bench:startup measures wall time on a quiet machine). The
    // server is single-threaded, so on an idle machine its wall time is its CPU time plus a little I/O.
    // Before the data-folder template, PGlite's initdb alone took ~4–7 s of CPU and peaked near 900 MB.
    expect(server.cpuSecondsToAnswer).toBeLessThan(5);
    expect(peakRssMb(server.child.pid!)).toBeLessThan(250);
  });

  test("an idle keep-alive connection outlives Node's 5 s default: a proxy reusing it is not cut off", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; socket: Socket }>((resolve, reject) => {
        const request = http.get(`${server.url}/api/v1/version`, { agent }, (response) => {
          const socket = response.socket; // handed back to the agent, and off the response, once it ends
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode!, socket }));
        });
        request.on('error', reject);
      });
    try {
      const first = await get();
      let closed = false;
      first.socket.once('close', () => (closed = true));
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(closed).toBe(false);
      const second = await get();
      expect([second.status, second.socket === first.socket]).toEqual([200, true]);
    } finally {
      agent.destroy();
    }
  }, 15_000);

  test('a second process opening the folder is refused, naming the owner', async () => {
    const opening = connectNodeDatabase({ kind: 'pglite', dataDir: path.join(dataRoot, 'pglite') });
    await expect(opening).rejects.toThrow(DataFolderInUseError);
    await expect(opening).rejects.toThrow(`in use by process ${server.child.pid}`);
    const restore = await runScript('restore', ['--from', dataRoot, '--to', dataRoot]).catch((error: { stderr: string }) => error);
    expect(restore.stderr).toContain(`in use by process ${server.child.pid}`);
    expect(restore.stderr).toContain('Stop the QA-Board server first');
  });

  test('npm run backup on a running server goes through it, and the backup holds every acknowledged row', async () => {
    const load = loadUploads(server);
    await load.until(30);
    const backupFolder = await scratchFolder();
    const acknowledgedAtStart = load.acknowledged.length;
    const { stdout } = await runScript('backup', ['--to', backupFolder], { QABOARD_DATA_DIR: dataRoot });
    const acknowledgedAtEnd = load.acknowledged.length;
    await load.stop();
    expect(stdout).toContain(`the QA-Board server (pid ${server.child.pid}) owns`);
    const manifest = JSON.parse(await readFile(path.join(backupFolder, 'manifest.json'), 'utf8')) as BackupManifest;
    const outputs = manifest.parts.filter((p) => p.table === 'outputs').reduce((sum, p) => sum + p.rows, 0);
    // Taken while uploads went on: not stale (everything acknowledged before it started), and no more
    // than what was acknowledged by its end, plus the 4 uploads then in flight.
    expect(outputs).toBeGreaterThanOrEqual(acknowledgedAtStart);
    expect(outputs).toBeLessThanOrEqual(acknowledgedAtEnd + 4);
  });

  test('SIGKILL mid-load: the folder reopens, serves, and holds every acknowledged upload', async () => {
    const load = loadUploads(server);
    await load.until(load.acknowledged.length + 50);
    server.child.kill('SIGKILL');
    await load.stop();
    await killOwned(server.child);
    const acknowledged = [...load.acknowledged];

    server = await startServer(dataRoot); // the lock left by the killed process is stale: taken over
    for (const id of acknowledged) {
      const answer = await fetch(`${server.url}/api/v1/output/${id}`);
      expect(answer.status, `output ${id}`).toBe(200);
    }
    const lock = JSON.parse(await readFile(path.join(dataRoot, 'pglite.lock'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(server.child.pid);
  });
});
