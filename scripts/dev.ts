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
 *   `GET /__scheduled?cron=…`.
 * - No network look-ups: no metrics, no `cf` object download, no update check.
 * - wrangler dev's own engine (`unstable_startWorker`: the same build, watch and reload, workerd and
 *   bindings), run in this process, with DevTools only when asked (`--inspector-port`): wrangler's
 *   inspector proxy relays every inspector event of the Worker (several per fetch it makes: every
 *   database statement) to wrangler's process and its log file, and keeps them all while no DevTools is
 *   attached — under load, most of the CPU of `wrangler dev` and memory that grows without end.
 * Ctrl-C (SIGINT) or SIGTERM ends workerd and everything above.
 *
 *   npm run dev [-- --port 8787] [--inspector-port 9229] [--var NAME:VALUE]… [--env-file FILE]…
 * (`--var` and `--env-file` as wrangler dev takes them.)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, parseEnv } from 'node:util';
import { connectNodeDatabase } from '../src/db/connect-node';
import { startFakeGitLab } from '../test/support/fake-gitlab';
import { ispPipelineRepository } from '../test/support/gitlab-fixtures';
import { startNeonWsProxy } from './neon-ws-proxy';
import { servePglite } from './pglite-server';

const USAGE = 'npm run dev [-- --port 8787] [--inspector-port 9229] [--var NAME:VALUE]… [--env-file FILE]…';
function commandOptions() {
  try {
    const { values } = parseArgs({
      options: {
        port: { type: 'string', default: process.env.PORT ?? '8787' },
        'inspector-port': { type: 'string' },
        var: { type: 'string', multiple: true, default: [] },
        'env-file': { type: 'string', multiple: true, default: [] },
      },
    });
    /** `--var NAME:VALUE`, as wrangler dev takes them: over every other setting. */
    const vars = Object.fromEntries(
      values.var.map((given) => {
        const colon = given.indexOf(':');
        if (colon < 1) throw new Error(`--var ${given}: expected NAME:VALUE`);
        return [given.slice(0, colon), given.slice(colon + 1)];
      }),
    );
    return { ...values, vars };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\nusage: ${USAGE}`);
    process.exit(2);
  }
}
const options = commandOptions();
const port = Number(options.port);
const dataDir = path.resolve(process.env.QABOARD_DATA_DIR ?? '.data', 'dev');
/** What wrangler reads too: the `--env-file`s given, else .dev.vars (later files win). */
const devVarFiles = options['env-file'].length ? options['env-file'] : ['.dev.vars'];
const devVars: Record<string, string | undefined> = Object.assign({}, ...devVarFiles.map((file) => (existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {})));
/** A path as short as it can be said: relative inside the working folder. */
const shown = (folder: string) => (folder.startsWith(process.cwd() + path.sep) ? path.relative(process.cwd(), folder) : folder);
const setting = (name: string): string | undefined => options.vars[name] || process.env[name] || devVars[name] || undefined;

/** Closed in reverse order on the way out. */
const resources: Array<{ close(): Promise<void> }> = [];

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

/** The Worker in workerd, as `wrangler dev` runs it: wrangler.jsonc's build, bindings and local simulations, `vars` on top. */
async function startWorkerd(vars: Record<string, string>) {
  // Read by miniflare when it starts: no download of the `cf` request data.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  const { unstable_startWorker } = await import('wrangler');
  const inspectorPort = options['inspector-port'];
  const worker = await unstable_startWorker({
    config: 'wrangler.jsonc',
    ...(options['env-file'].length && { envFiles: options['env-file'] }),
    bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: 'plain_text', value }])),
    sendMetrics: false,
    // wrangler.jsonc's build command (the static assets, from a pinned package) still runs once at start. Not
    // again from a watcher of src/: its first run, when watching starts, rebuilt and reloaded the Worker once
    // more, under the first requests ("Your worker restarted mid-request"). The Worker itself is rebuilt on changes as always.
    build: { custom: { command: '' } },
    dev: {
      server: { hostname: '127.0.0.1', port },
      inspector: inspectorPort ? { hostname: '127.0.0.1', port: Number(inspectorPort) } : false,
      persist: path.join(dataDir, 'wrangler'),
      testScheduled: true,
      watch: true,
    },
  });
  resources.push({ close: () => worker.dispose() });
  await worker.ready;
}

/** Ready: a database route answers (200, or 401 when AUTH_MODE asks for a token), not only workerd listening. */
async function waitUntilServing(base: string) {
  let status = 0;
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 250))) {
    status = await fetch(`${base}/api/v1/projects`).then((r) => r.status, () => 0);
    if (status === 200 || status === 401) return;
  }
  throw new Error(`GET /api/v1/projects still answers ${status || 'nothing'} after 90 s: see the log above`);
}

let stopping: Promise<void> | undefined;
function stop(exitCode: number) {
  stopping ??= (async () => {
    for (const resource of resources.reverse()) await resource.close().catch((error) => console.error(String(error)));
    process.exit(exitCode);
  })();
  return stopping;
}

// A second Ctrl-C does not wait for a clean stop.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopping ? process.exit(130) : void stop(0)));

try {
  const database = await localDatabase();
  const proxy = await startNeonWsProxy();
  resources.push(proxy);
  const git = await gitlab();
  const webhookSecret = setting('GITLAB_WEBHOOK_SECRET') ?? 'dev-webhook-secret';
  // Listening on 127.0.0.1 only, like `npm start`: open unless configured (a deployed Worker defaults to `write`).
  const authMode = setting('AUTH_MODE') ?? 'open';
  const vars = { DATABASE_URL: database.url, NEON_WS_PROXY: proxy.url, GITLAB_URL: git.url, GITLAB_TOKEN: git.token, GITLAB_WEBHOOK_SECRET: webhookSecret, AUTH_MODE: authMode };
  await startWorkerd({ ...vars, ...options.vars });

  const base = `http://127.0.0.1:${port}`;
  await waitUntilServing(base);
  console.log(`
QA-Board dev: the Worker in workerd on ${base}  (docs: ${base}/api/docs)
  database  ${database.description}
  proxy     Neon WebSocket proxy on ${proxy.url}
  GitLab    ${git.description}; webhook secret "${webhookSecret}"
  DevTools  ${options['inspector-port'] ? `inspector on 127.0.0.1:${options['inspector-port']}` : 'off (--inspector-port 9229 turns it on)'}
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
