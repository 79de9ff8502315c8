/**
 * `npm run dev`: the real Worker in workerd (`wrangler dev`), ready to use with nothing to set up.
 * - Database: `DATABASE_URL` when given (env or .dev.vars: any Postgres), else embedded PGlite persisted
 *   in `<QABOARD_DATA_DIR>/dev/pglite` (default .data/dev) and served over the wire protocol; migrations
 *   applied either way.
 * - The Neon driver reaches it through the local WebSocket proxy (`NEON_WS_PROXY`, never deployed).
 * - GitLab: `GITLAB_URL` + `GITLAB_TOKEN` when given, else a fake GitLab serving the fixture repository
 *   (test/fixtures/gitlab), so the fixture push webhook is processed end to end; the webhook secret is
 *   `GITLAB_WEBHOOK_SECRET` or `dev-webhook-secret`.
 * - AUTH_MODE: as configured, else `open` (it listens on 127.0.0.1 only, like `npm start`).
 * - Queues, R2 and the rate limiters run locally (state in `<data>/wrangler`); crons fire on
 *   `GET /__scheduled?cron=…` (`--test-scheduled`).
 * - No network look-ups: no metrics, no `cf` object download, no update check.
 * Ctrl-C (SIGINT) or SIGTERM ends wrangler with its workerd and everything above.
 *
 *   npm run dev [-- --port 8787] [other wrangler dev options]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { connectNodeDatabase } from '../src/db/connect-node';
import { startFakeGitLab } from '../test/support/fake-gitlab';
import { ispPipelineRepository } from '../test/support/gitlab-fixtures';
import { startNeonWsProxy } from './neon-ws-proxy';
import { servePglite } from './pglite-server';

/** `--port N` is ours (default PORT or 8787); every other option goes to wrangler dev. */
function splitArguments(argv: string[]) {
  const wranglerOptions: string[] = [];
  let port = process.env.PORT ?? '8787';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') port = argv[++i] ?? port;
    else if (argv[i]!.startsWith('--port=')) port = argv[i]!.slice('--port='.length);
    else wranglerOptions.push(argv[i]!);
  }
  return { port: Number(port), wranglerOptions };
}

const { port, wranglerOptions } = splitArguments(process.argv.slice(2));
const dataDir = path.resolve(process.env.QABOARD_DATA_DIR ?? '.data', 'dev');
/** What wrangler reads too: the `--env-file`s given, else .dev.vars (later files win). */
function devVarFiles(options: string[]): string[] {
  const given = options.flatMap((option, i) => (option === '--env-file' ? [options[i + 1] ?? ''] : option.startsWith('--env-file=') ? [option.slice('--env-file='.length)] : []));
  return given.length ? given : ['.dev.vars'];
}
const devVars: Record<string, string | undefined> = Object.assign(
  {},
  ...devVarFiles(wranglerOptions).map((file) => (existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {})),
);
/** A path as short as it can be said: relative inside the working folder. */
const shown = (folder: string) => (folder.startsWith(process.cwd() + path.sep) ? path.relative(process.cwd(), folder) : folder);
const setting = (name: string): string | undefined => process.env[name] || devVars[name] || undefined;

/** Closed in reverse order on the way out. */
const resources: Array<{ close(): Promise<void> }> = [];
/** wrangler's process group: wrangler, workerd, esbuild. */
let wranglerGroup: number | undefined;
let wranglerExited: Promise<unknown> = Promise.resolve();

function signalWrangler(signal: NodeJS.Signals) {
  try {
    if (wranglerGroup) process.kill(-wranglerGroup, signal);
  } catch {
    // the group is gone already
  }
}

async function localDatabase() {
  const url = setting('DATABASE_URL');
  if (url) {
    const database = await connectNodeDatabase({ kind: 'postgres', url }); // migrates
    await database.close();
    return { url, description: `${database.description}, migrations applied` };
  }
  const served = await servePglite(path.join(dataDir, 'pglite'));
  resources.push(served);
  return { url: served.url, description: `embedded PGlite in ${path.join(shown(dataDir), 'pglite')}, served on ${new URL(served.url).host}, migrations applied` };
}

async function gitlab() {
  const url = setting('GITLAB_URL');
  const token = setting('GITLAB_TOKEN');
  if (url && token) return { url, token, description: url };
  const fake = await startFakeGitLab([ispPipelineRepository()]);
  resources.push(fake);
  return { url: fake.url, token: fake.token, description: `a fake one on ${fake.url} serving the fixture repository vision/isp-pipeline` };
}

/** Ready: a database route answers (200, or 401 when AUTH_MODE asks for a token), not only workerd listening. */
async function waitUntilServing(base: string, wranglerExit: Promise<number | null>) {
  let exited = false;
  void wranglerExit.then(() => (exited = true));
  let status = 0;
  for (const deadline = Date.now() + 90_000; Date.now() < deadline && !exited; await new Promise((resolve) => setTimeout(resolve, 250))) {
    status = await fetch(`${base}/api/v1/projects`).then((r) => r.status, () => 0);
    if (status === 200 || status === 401) return;
  }
  if (exited) throw new Error('wrangler dev exited before serving');
  throw new Error(`GET /api/v1/projects still answers ${status || 'nothing'} after 90 s: see the log above`);
}

let stopping: Promise<void> | undefined;
function stop(exitCode: number) {
  stopping ??= (async () => {
    signalWrangler('SIGTERM');
    await wranglerExited;
    signalWrangler('SIGKILL'); // anything of the group that outlived wrangler
    for (const resource of resources.reverse()) await resource.close().catch((error) => console.error(String(error)));
    process.exit(exitCode);
  })();
  return stopping;
}

// A second Ctrl-C does not wait for a clean stop.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopping ? process.exit(130) : void stop(0)));
// Last resort if this process dies some other way: never leave workerd behind.
process.on('exit', () => signalWrangler('SIGKILL'));

try {
  const database = await localDatabase();
  const proxy = await startNeonWsProxy();
  resources.push(proxy);
  const git = await gitlab();
  const webhookSecret = setting('GITLAB_WEBHOOK_SECRET') ?? 'dev-webhook-secret';
  // Listening on 127.0.0.1 only, like `npm start`: open unless configured (a deployed Worker defaults to `write`).
  const authMode = setting('AUTH_MODE') ?? 'open';
  const vars = { DATABASE_URL: database.url, NEON_WS_PROXY: proxy.url, GITLAB_URL: git.url, GITLAB_TOKEN: git.token, GITLAB_WEBHOOK_SECRET: webhookSecret, AUTH_MODE: authMode };

  const wrangler = spawn(
    path.join('node_modules', '.bin', 'wrangler'),
    [
      'dev',
      ...['--ip', '127.0.0.1', '--port', String(port), '--test-scheduled', '--persist-to', path.join(dataDir, 'wrangler')],
      ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
      ...wranglerOptions,
    ],
    {
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' },
      // Its own process group, so that one signal ends wrangler, workerd and esbuild together.
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  wranglerGroup = wrangler.pid;
  const wranglerExit = new Promise<number | null>((resolve) => wrangler.once('exit', resolve));
  wranglerExited = wranglerExit;
  void wranglerExit.then((code) => stop(code ?? 1));

  const base = `http://127.0.0.1:${port}`;
  await waitUntilServing(base, wranglerExit);
  console.log(`
QA-Board dev: the Worker in workerd on ${base}  (docs: ${base}/api/docs)
  database  ${database.description}
  proxy     Neon WebSocket proxy on ${proxy.url}
  GitLab    ${git.description}; webhook secret "${webhookSecret}"
  auth      AUTH_MODE=${authMode}${authMode === 'open' ? ' (set AUTH_MODE and ADMIN_TOKEN in .dev.vars to try tokens)' : ''}
  try       curl ${base}/api/v1/projects
            curl "${base}/__scheduled?cron=5+*+*+*+*"        (the hourly cleanup; 17+3+*+*+* the backup)
            curl -X POST ${base}/webhook/gitlab -H 'X-Gitlab-Event: Push Hook' -H 'X-Gitlab-Token: ${webhookSecret}' \\
                 -H 'Content-Type: application/json' --data @test/fixtures/gitlab/push-event.json
  Ctrl-C stops everything.
`);
} catch (error) {
  console.error(`npm run dev: ${error instanceof Error ? error.message : String(error)}`);
  await stop(1);
}
