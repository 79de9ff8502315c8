/**
 * The bundled Node entry and scripts (test/support/build-node.ts builds them), run as their own
 * processes with the node options of their npm scripts.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { killOwned, processTable, runOwned, spawnOwned } from '../../src/maintenance/owned-children';

const root = path.resolve(import.meta.dirname, '../..');

/** `node` arguments of an npm script such as `npm run -s build:node && node --flag .cache/node/x.mjs`. */
function nodeArgsOf(script: 'start' | 'backup' | 'restore'): string[] {
  const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [, args] = scripts[script]!.match(/&& node (.*)$/)!;
  return args!.split(' ').map((arg) => (arg.startsWith('.cache/') ? path.join(root, arg) : arg));
}

/**
 * Ports handed out by this process. A port is free once its probe closes, so the kernel may offer it again:
 * two calls made before either port is taken (`npm run dev`'s port and inspector port) once got the same one.
 */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  /** From spawn to the first answered `GET /api/v1/projects`. */
  answeredAfterMs: number;
  /** CPU time the server had used by then (Linux; user + system), which other processes on the machine don't inflate. */
  cpuSecondsToAnswer: number | undefined;
  output(): string;
}

/** `npm start` on `dataRoot` (QABOARD_DATA_DIR), once it answers (`answered`: a 200 from `GET /api/v1/projects`). */
export async function startServer(
  dataRoot: string,
  env: Record<string, string> = {},
  answered: { path: string; status: number } = { path: '/api/v1/projects', status: 200 },
): Promise<RunningServer> {
  const port = await freePort();
  const started = performance.now();
  const child = spawnOwned(process.execPath, nodeArgsOf('start'), {
    env: { ...process.env, DATABASE_URL: '', QABOARD_DATA_DIR: dataRoot, PORT: String(port), RATE_LIMIT_PER_MINUTE: '100000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${output}`);
    if (performance.now() - started > 30_000) {
      await killOwned(child);
      throw new Error(`the server did not answer within 30 s: ${output}`);
    }
    const answer = await fetch(`${url}${answered.path}`).catch(() => undefined);
    if (answer?.status === answered.status) {
      return { url, child, answeredAfterMs: performance.now() - started, cpuSecondsToAnswer: cpuSeconds(child.pid!), output: () => output };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Fields of /proc/<pid>/stat after the command's closing parenthesis (state is [0]); undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Two consecutive tick counters of `statFields` (11: utime, stime; 13: cutime, cstime), summed, in seconds (USER_HZ is 100). */
const tickSeconds = (fields: string[], at: 11 | 13) => (Number(fields[at]) + Number(fields[at + 1])) / 100;

/** user + system CPU seconds of a process so far (Linux). */
export function cpuSeconds(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields && tickSeconds(fields, 11);
}

/** The workerd process miniflare started under this process (the benches run one at a time). */
export function workerdChild(): number {
  const child = processTable().find((p) => p.ppid === process.pid && readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes('workerd'));
  if (!child) throw new Error('no workerd process under this process');
  return child.pid;
}

/** Peak resident memory of a process so far, in MB (Linux). */
export function peakRssMb(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/)![1]) / 1024;
}

/** `npm run backup|restore -- …args`, bundled, to completion (killed past `timeoutMs`); its output as text. */
export async function runScript(script: 'backup' | 'restore', args: string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
  const { stdout, stderr } = await runOwned(process.execPath, [...nodeArgsOf(script), ...args], { env: { ...process.env, ...env }, timeoutMs });
  return { stdout: stdout.toString(), stderr };
}

/**
 * CPU seconds used so far by the local Postgres servers (every process named `postgres`), for a
 * bench's before-and-after. A backend that ends in between would take its time with it: the
 * postmaster's reaped children (cutime, cstime) count it instead, so the total never goes back.
 * Counts whatever else those servers run meanwhile; 0 for a database on another machine.
 */
export function postgresCpuSeconds(): number {
  const postgres = processTable().filter(({ pid }) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
    } catch {
      return false; // the process ended while we read it
    }
  });
  const pids = new Set(postgres.map((p) => p.pid));
  let total = 0;
  for (const { pid, ppid } of postgres) {
    const fields = statFields(pid);
    if (!fields) continue;
    total += tickSeconds(fields, 11);
    if (!pids.has(ppid)) total += tickSeconds(fields, 13); // the postmaster: its ended backends' time
  }
  return total;
}
