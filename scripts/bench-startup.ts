/**
 * Start-up of the Node entry on the embedded database (not a test): prints figures.
 *
 *   npm run bench:startup -- [--command "npm start"] [--restarts 2] [--uploads 500]
 *
 * Starts `--command` (default `npm start`, what a user runs) on an empty QABOARD_DATA_DIR, then again
 * on the same folder (`--restarts` warm restarts), and for each start prints the time until
 * `GET /api/v1/projects` first answers and the peak RSS: of the server process (the largest peak of
 * any process the command started) and of the whole process tree (npm included), sampled every 20 ms.
 * After the last start it posts `--uploads` outputs (4 at a time) and prints the server's RSS then.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/node-entry';
import { treeMemory } from './process-memory';
import { outputUpload, shaOf } from '../test/support/uploads';

const { values: args } = parseArgs({
  options: {
    command: { type: 'string', default: 'npm start' },
    restarts: { type: 'string', default: '2' },
    uploads: { type: 'string', default: '500' },
  },
});

/** Posts `count` qa CLI–shaped outputs, 4 at a time, over 10 commits. */
async function upload(port: number, count: number) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = next++; i < count; i = next++) {
        const body = outputUpload({ sha: shaOf((i % 10) + 1), input: `inputs/${i}.jpg`, metrics: { psnr: i % 40 } });
        const answer = await fetch(`http://127.0.0.1:${port}/api/v1/output/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (!answer.ok) throw new Error(`upload answered ${answer.status}: ${await answer.text()}`);
      }
    }),
  );
}

async function measureStart(dataDir: string, uploads: number) {
  const port = await freePort();
  const started = performance.now();
  // detached: its own process group, so every process it starts is measured and ended with it.
  const child = spawn(args.command, {
    shell: true,
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, QABOARD_DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: '', RATE_LIMIT_PER_MINUTE: '1000000' },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let peakTreeKb = 0;
  let peakProcessKb = 0;
  const sample = () => {
    const group = treeMemory(child.pid!);
    peakTreeKb = Math.max(peakTreeKb, group.reduce((sum, p) => sum + p.rssKb, 0));
    peakProcessKb = Math.max(peakProcessKb, ...group.map((p) => p.peakKb));
  };
  const sampler = setInterval(sample, 20);
  try {
    let answeredAfter: number | undefined;
    while (answeredAfter === undefined) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before answering`);
      if (performance.now() - started > 120_000) throw new Error('no answer within 120 s');
      const answer = await fetch(`http://127.0.0.1:${port}/api/v1/projects`).catch(() => undefined);
      if (answer?.ok) answeredAfter = (performance.now() - started) / 1000;
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // A few requests more, then the figures of a server that is serving.
    for (let i = 0; i < 20; i++) await fetch(`http://127.0.0.1:${port}/api/v1/projects`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    sample();
    const figures = { answeredAfter, peakProcessMb: peakProcessKb / 1024, peakTreeMb: peakTreeKb / 1024 };
    if (!uploads) return { ...figures, afterUploads: undefined };
    const loading = performance.now();
    await upload(port, uploads);
    const seconds = (performance.now() - loading) / 1000;
    const server = treeMemory(child.pid!).sort((a, b) => b.rssKb - a.rssKb)[0]!;
    return { ...figures, afterUploads: { seconds, rssMb: server.rssKb / 1024, peakMb: server.peakKb / 1024 } };
  } finally {
    clearInterval(sampler);
    process.kill(-child.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'qaboard-bench-startup-'));
try {
  console.log(`command: ${args.command}`);
  for (let run = 0; run <= Number(args.restarts); run++) {
    const last = run === Number(args.restarts);
    const { answeredAfter, peakProcessMb, peakTreeMb, afterUploads } = await measureStart(dataDir, last ? Number(args.uploads) : 0);
    console.log(
      `${run === 0 ? 'first start (empty folder)' : `warm restart ${run}         `}: first answer after ${answeredAfter.toFixed(2)} s, ` +
        `peak RSS ${peakProcessMb.toFixed(0)} MB (server process), ${peakTreeMb.toFixed(0)} MB (process tree)`,
    );
    if (afterUploads) {
      console.log(
        `then ${args.uploads} uploads in ${afterUploads.seconds.toFixed(1)} s: server RSS ${afterUploads.rssMb.toFixed(0)} MB, ` +
          `peak ${afterUploads.peakMb.toFixed(0)} MB`,
      );
    }
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
