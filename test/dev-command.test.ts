/**
 * `npm run dev` as a newcomer runs it, on a fresh data folder: it serves the real Worker on a local
 * database with nothing set up, a qa CLI upload reads back, a cron and the fixture GitLab push go
 * through the local queues, the docs page works with all other network refused, nothing looks
 * anything up on the network, and Ctrl-C ends every process it started.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { browserTestsRun, openOffline, operationSummaries } from './support/offline-browser';
import { freePort } from './support/node-entry';
import { outputUpload, shaOf } from './support/uploads';

/** Processes whose environment carries `marker`: every descendant of the command (Linux /proc). */
function processesMarked(marker: string): string[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`QABOARD_DEV_TEST_MARKER=${marker}`);
      } catch {
        return false; // ended meanwhile, or not ours to read
      }
    })
    .map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim() || pid);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 250))) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('npm run dev: the Worker on a local database, queues, crons, offline docs; Ctrl-C ends it all', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const marker = randomUUID();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'qaboard-dev-'));
  // A newcomer's shell: no DATABASE_URL or GITLAB_URL, none of the wrangler settings vitest.config.ts makes nor
  // vitest's NODE_ENV=test (which alone turns miniflare's network look-up off), and an empty env file
  // instead of a developer's .dev.vars.
  const notANewcomers = ['DATABASE_URL', 'GITLAB_URL', 'WRANGLER_SEND_METRICS', 'CLOUDFLARE_CF_FETCH_ENABLED', 'XDG_CONFIG_HOME', 'NODE_ENV'];
  const environment = Object.fromEntries(Object.entries(process.env).filter(([name]) => !notANewcomers.includes(name) && !name.startsWith('VITEST')));
  const noDevVars = path.join(dataDir, 'empty.env');
  writeFileSync(noDevVars, '');
  const options = ['--port', String(port), '--inspector-port', String(await freePort()), '--env-file', noDevVars];
  // A process group of its own, as a terminal gives the command; Ctrl-C signals the whole group.
  const dev = spawn('npm', ['run', 'dev', '--', ...options], {
    env: { ...environment, QABOARD_DATA_DIR: dataDir, QABOARD_DEV_TEST_MARKER: marker },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  dev.stdout!.on('data', (chunk: Buffer) => (log += chunk));
  dev.stderr!.on('data', (chunk: Buffer) => (log += chunk));
  const exited = once(dev, 'exit');
  const base = `http://127.0.0.1:${port}`;
  try {
    // dev waits up to 90 s for the Worker itself; past that it prints why and exits. Either way, show its log.
    const banner = until('the ready banner', async () => (log.includes('Ctrl-C stops everything') ? true : dev.exitCode === null ? undefined : false), 100_000);
    if (!(await banner.catch(() => false))) throw new Error(`npm run dev never became ready (exit ${dev.exitCode ?? dev.signalCode}):\n${log.slice(-4000)}`);

    const sha = shaOf(4242);
    const posted = await fetch(`${base}/api/v1/output/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(outputUpload({ project: 'dev/smoke', sha, metrics: { psnr: 31 } })),
    });
    expect(posted.status).toBe(200);
    const { id } = (await posted.json()) as { id: number };
    const commit = (await (await fetch(`${base}/api/v1/commit/${sha}?project=dev%2Fsmoke`)).json()) as {
      id: string;
      batches: Record<string, { outputs: Record<string, { metrics: unknown }> }>;
    };
    expect(commit.id).toBe(sha);
    expect(commit.batches.default!.outputs[String(id)]!.metrics).toMatchObject({ psnr: 31 });

    expect((await fetch(`${base}/__scheduled?cron=5+*+*+*+*`)).status).toBe(200);
    await until('the hourly cleanup', async () => (log.includes('reaper: marked') ? true : undefined), 10_000);

    const pushed = await fetch(`${base}/webhook/gitlab`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'dev-webhook-secret' },
      body: readFileSync('test/fixtures/gitlab/push-event.json'),
    });
    expect(pushed.status).toBe(202);
    // The queue consumer asks the fake GitLab for the pushed tree and records its QA-Board projects.
    const projects = await until(
      'the pushed projects',
      async () => {
        const listed = Object.keys(await (await fetch(`${base}/api/v1/projects`)).json());
        return listed.includes('vision/isp-pipeline/denoise') ? listed : undefined;
      },
      20_000,
    );
    expect(projects).toEqual(expect.arrayContaining(['dev/smoke', 'vision/isp-pipeline', 'vision/isp-pipeline/hdr']));

    // The Scalar bundle is the Worker's static asset: the page renders with every other request refused.
    if (browserTestsRun) {
      const summaries = operationSummaries(await (await fetch(`${base}/api/openapi.json`)).json());
      const page = await openOffline(`${base}/api/docs`, (text) => summaries.every((s) => text.includes(s)));
      expect(summaries.filter((s) => !page.text.includes(s))).toEqual([]);
      expect(page.refused).toEqual([]);
    }
  } finally {
    if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  }
  // npm ends on the signal itself; the dev script behind it closes what it started, then exits.
  expect(dev.exitCode ?? dev.signalCode, log).toMatch(/^(0|SIGINT)$/);
  const left = await until('every process to end', async () => (processesMarked(marker).length === 0 ? [] : undefined), 15_000).catch(() => processesMarked(marker));
  expect(left).toEqual([]);
  expect(await fetch(`${base}/api/v1/projects`).then(() => 'still serving', () => 'closed')).toBe('closed');
  expect(log).not.toMatch(/ENOTFOUND|EAI_AGAIN|Unable to fetch|update available|Internal Server Error/);
  rmSync(dataDir, { recursive: true, force: true });
});
