/**
 * Child processes that end with us. Each runs in its own process group and, on a timeout, on
 * `kill()` or when this process exits (even on Ctrl-C or SIGTERM), its whole tree gets SIGKILL.
 * Why so blunt: `wrangler r2 object get/put` starts its own children and ignored SIGTERM while busy;
 * a timed-out test once left one behind at 2.5 GB RSS. Why the tree and not only the group: a child
 * may put what it starts in a group of its own (scripts/dev.ts does so with wrangler and workerd);
 * SIGKILL gives it no chance to end that group, so we do, or workerd outlives it and keeps our pipes open.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const owned = new Set<ChildProcess>();

/** Every process with its parent and group (Linux: read from /proc; elsewhere none are known). */
export function processTable(): Array<{ pid: number; ppid: number; pgid: number }> {
  const all: Array<{ pid: number; ppid: number; pgid: number }> = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    // no /proc
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: state, ppid, pgrp, …
      const [, ppid, group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.push({ pid: Number(entry), ppid: Number(ppid), pgid: Number(group) });
    } catch {
      // the process ended while we read it
    }
  }
  return all;
}

/**
 * The processes of group `pgid` and all their descendants, whichever group they moved to (where
 * /proc can't be read, none are known and only the group itself can be reached).
 */
export function processTree(pgid: number): Array<{ pid: number; pgid: number }> {
  const all = processTable();
  const tree = new Set(all.filter((p) => p.pgid === pgid).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (tree.has(p.pid) || !tree.has(p.ppid)) continue;
      tree.add(p.pid);
      grew = true;
    }
  }
  return all.filter((p) => tree.has(p.pid)).map(({ pid, pgid: group }) => ({ pid, pgid: group }));
}

/** SIGKILL to the child's group and to every group its descendants started: all of them are ours. */
function killTree(child: ChildProcess) {
  for (const group of new Set([child.pid!, ...processTree(child.pid!).map((p) => p.pgid)])) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
}

let hooked = false;
/** Installed with the first child: scripts and test runners that start none are left alone. */
function endChildrenWhenWeEnd() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => owned.forEach(killTree));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      owned.forEach(killTree);
      process.kill(process.pid, signal); // then end as the signal would have
    });
  }
}

/** Starts `command` in its own process group; it is killed with its tree when this process ends. */
export function spawnOwned(command: string, args: string[], options: Omit<SpawnOptions, 'detached'> = {}): ChildProcess {
  endChildrenWhenWeEnd();
  const child = spawn(command, args, { ...options, detached: true });
  owned.add(child);
  child.once('exit', () => {
    owned.delete(child);
    killTree(child); // what it started and left running
  });
  return child;
}

/** Ends a child and everything it started, and waits until it has exited. */
export async function killOwned(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return killTree(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  killTree(child);
  await exited;
}

export class ChildProcessError extends Error {
  constructor(
    message: string,
    readonly stdout: Buffer,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Runs a command to completion; past `timeoutMs` its tree is killed and the promise rejects. */
export async function runOwned(
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'detached' | 'stdio'> & { timeoutMs: number },
): Promise<{ stdout: Buffer; stderr: string }> {
  const child = spawnOwned(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child);
  }, options.timeoutMs);
  const [code, signal] = (await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (...result) => resolve(result));
  })) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  const output = Buffer.concat(stdout);
  const line = [command, ...args].join(' ');
  if (timedOut) throw new ChildProcessError(`${line}: no result after ${options.timeoutMs / 1000} s, killed`, output, stderr);
  if (code !== 0) throw new ChildProcessError(`${line}: exited with ${code ?? signal}: ${stderr.trim()}`, output, stderr);
  return { stdout: output, stderr };
}
