/**
 * Child processes that end with us. Each runs in its own process group and, on a timeout, on
 * `kill()` or when this process exits (even on Ctrl-C or SIGTERM), the whole group gets SIGKILL.
 * Why so blunt: `wrangler r2 object get/put` starts its own children and ignored SIGTERM while busy;
 * a timed-out test once left one behind at 2.5 GB RSS. A group kill also ends what the child started.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const owned = new Set<ChildProcess>();

function killGroup(child: ChildProcess) {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

let hooked = false;
/** Installed with the first child: scripts and test runners that start none are left alone. */
function endChildrenWhenWeEnd() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => owned.forEach(killGroup));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      owned.forEach(killGroup);
      process.kill(process.pid, signal); // then end as the signal would have
    });
  }
}

/** Starts `command` in its own process group; it is killed with its group when this process ends. */
export function spawnOwned(command: string, args: string[], options: Omit<SpawnOptions, 'detached'> = {}): ChildProcess {
  endChildrenWhenWeEnd();
  const child = spawn(command, args, { ...options, detached: true });
  owned.add(child);
  child.once('exit', () => {
    owned.delete(child);
    killGroup(child); // what it started and left running
  });
  return child;
}

/** Ends a child and everything it started, and waits until it has exited. */
export async function killOwned(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return killGroup(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  killGroup(child);
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

/** Runs a command to completion; past `timeoutMs` its group is killed and the promise rejects. */
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
    killGroup(child);
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
