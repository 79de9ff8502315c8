/**
 * `npm run dev` (scripts/dev.ts: the Worker in workerd under wrangler dev) as a child of a bench or
 * script, once it serves. It is an owned child: `stop()`, or this process ending, ends it with
 * wrangler and workerd, which dev.ts keeps in a process group of their own (see owned-children).
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { killOwned, spawnOwned } from '../../src/maintenance/owned-children';
import { freePort } from './node-entry';

const root = path.resolve(import.meta.dirname, '../..');

export interface RunningDev {
  url: string;
  child: ChildProcess;
  /** The end of what it printed (wrangler logs every request: the rest is dropped). */
  output(): string;
  stop(): Promise<void>;
}

/** `env` on top of ours (QABOARD_DATA_DIR, DATABASE_URL, …; AUTH_MODE open unless given); `args` go to wrangler dev as in `npm run dev -- …`. */
export async function startDev(env: Record<string, string>, args: string[] = []): Promise<RunningDev> {
  const port = await freePort();
  // The command of `npm run dev`, without npm in between.
  const child = spawnOwned(process.execPath, ['--import', 'tsx', 'scripts/dev.ts', '--port', String(port), ...args], {
    cwd: root,
    env: { ...process.env, AUTH_MODE: 'open', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const running: RunningDev = { url: `http://127.0.0.1:${port}`, child, output: () => output, stop: () => killOwned(child) };
  // dev.ts gives up on its own after 90 s without an answer.
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`npm run dev exited with ${child.exitCode ?? child.signalCode}: ${output}`);
    if ((await fetch(`${running.url}/api/v1/projects`).catch(() => undefined))?.ok) return running;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
