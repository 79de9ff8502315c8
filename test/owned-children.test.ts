/** Scripts and tests end every child process they start, and what those started (wrangler starts workerd). */
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ChildProcessError, killOwned, runOwned, spawnOwned } from '../src/maintenance/owned-children';

const folders: string[] = [];
afterAll(() => Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))));

/** Alive: exists and is not a zombie (an orphan nobody reaped yet is dead). */
function isAlive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  const text = readFileSync(stat, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** A command that ignores SIGTERM and leaves a grandchild that ignores it too, printing the grandchild's pid. */
const stubborn = ['-c', 'trap "" TERM; (trap "" TERM; exec sleep 300) & echo $!; wait'];

test.runIf(process.platform === 'linux')('a command past its timeout is killed with everything it started', async () => {
  const started = performance.now();
  const failure = await runOwned('sh', stubborn, { timeoutMs: 500 }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ChildProcessError);
  expect((failure as ChildProcessError).message).toMatch(/no result after 0.5 s, killed/);
  expect(performance.now() - started).toBeLessThan(5_000);
  const grandchild = Number((failure as ChildProcessError).stdout.toString().trim());
  expect(grandchild).toBeGreaterThan(0);
  await expect.poll(() => isAlive(grandchild)).toBe(false);
});

test.runIf(process.platform === 'linux')('a script that exits, or gets SIGTERM, ends the children it started', async () => {
  const folder = await mkdtemp(path.join(tmpdir(), 'qaboard-owned-'));
  folders.push(folder);
  const script = path.join(folder, 'parent.ts');
  const module = path.resolve(import.meta.dirname, '../src/maintenance/owned-children.ts');
  // Starts the stubborn command, reports its grandchild's pid, then ends as told.
  await writeFile(
    script,
    `import { spawnOwned } from ${JSON.stringify(module)};
     const child = spawnOwned('sh', ${JSON.stringify(stubborn)}, { stdio: ['ignore', 'pipe', 'ignore'] });
     child.stdout.once('data', (pid) => {
       console.log(String(pid).trim());
       if (process.argv[2] === 'exit') process.exit(0);
     });
     setInterval(() => {}, 1000);`,
  );
  for (const ending of ['exit', 'sigterm']) {
    const parent = spawnOwned(process.execPath, ['--import', 'tsx', script, ending], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    const [report] = (await once(parent.stdout!, 'data')) as [Buffer];
    const grandchild = Number(report.toString().trim());
    expect(grandchild, ending).toBeGreaterThan(0);
    if (ending === 'sigterm') parent.kill('SIGTERM'); // the parent only, as a test runner or a terminal would
    await exited;
    await expect.poll(() => isAlive(grandchild), { message: ending }).toBe(false);
  }
});

test.runIf(process.platform === 'linux')('killing a child also ends what it started in a process group of its own', async () => {
  // As scripts/dev.ts does with wrangler: a grandchild in its own group, ended only on a SIGTERM the child gets.
  const child = spawnOwned(
    process.execPath,
    ['-e', `const g = require('node:child_process').spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
            process.on('SIGTERM', () => { process.kill(-g.pid, 'SIGTERM'); process.exit(0); });
            console.log(g.pid); setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [report] = (await once(child.stdout!, 'data')) as [Buffer];
  const grandchild = Number(report.toString().trim());
  expect(grandchild).toBeGreaterThan(0);
  await killOwned(child);
  await expect.poll(() => isAlive(grandchild)).toBe(false);
});
