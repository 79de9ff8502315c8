import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import './test/provided-context.ts';
import { WORKER_TEST_ADMIN_TOKEN, WORKER_TEST_FILE_URL_SECRET } from './test/worker/worker-credentials.ts';

// wrangler/miniflare: no telemetry, no network look-ups, config files inside the repo's ignored folders.
process.env.WRANGLER_SEND_METRICS ??= 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
process.env.XDG_CONFIG_HOME ??= new URL('./.cache/xdg', import.meta.url).pathname;

/**
 * The real Worker in workerd, on Postgres through the Neon driver (`worker`: SQL over HTTP, sessions
 * for transactions) or through a Hyperdrive binding whose local connection string is the database
 * (`worker-hyperdrive`). `TEST_HYPERDRIVE` is the same binding under a name the Worker doesn't read:
 * test/worker/connection-modes.test.ts hands it over as `HYPERDRIVE` to run each mode in one project.
 */
function workerProject(name: 'worker' | 'worker-hyperdrive') {
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        main: './src/worker.ts',
        wrangler: { configPath: './wrangler.jsonc' },
        miniflare: {
          hyperdrives: { TEST_HYPERDRIVE: inject('workerHyperdriveUrl'), ...(name === 'worker-hyperdrive' && { HYPERDRIVE: inject('workerHyperdriveUrl') }) },
          bindings: {
            DATABASE_URL: inject('workerDatabaseUrl'),
            NEON_WS_PROXY: inject('neonWsProxy'),
            GITLAB_URL: inject('fakeGitLabUrl'),
            GITLAB_TOKEN: inject('fakeGitLabToken'),
            GITLAB_WEBHOOK_SECRET: 'worker-test-secret',
            // Sign-in: GitLab OAuth and CI id_tokens against the fake GitLab; local sign-up on.
            PUBLIC_URL: 'http://qaboard.test',
            GITLAB_OAUTH_CLIENT_ID: inject('fakeGitLabOAuthClient').id,
            GITLAB_OAUTH_CLIENT_SECRET: inject('fakeGitLabOAuthClient').secret,
            LOCAL_SIGNUP: 'true',
            LOCAL_USER_SCOPES: 'write',
            // The Worker runs in its default AUTH_MODE (write): tests write with the bootstrap admin token.
            ADMIN_TOKEN: WORKER_TEST_ADMIN_TOKEN,
            // Output files (test/worker/files.test.ts): signed /s/ URLs are checked in workerd too.
            FILES_URL_SECRET: WORKER_TEST_FILE_URL_SECRET,
          },
        },
      })),
    ],
    test: {
      name,
      include: ['test/worker/**/*.test.ts'],
      globalSetup: ['test/worker/global-setup.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  };
}

export default defineConfig({
  test: {
    // vitest's default on 2 cores is one file at a time, leaving a core idle while a file waits on a
    // database, a child process or a timer.
    maxWorkers: 2,
    projects: [
      {
        // Domain and HTTP-contract tests in Node, on every Postgres engine (see test/support/databases.ts).
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/worker/**'],
          environment: 'node',
          // Files share a worker's module cache instead of importing the app afresh (a third of the
          // suite's CPU); each builds its own app and database, and none mocks modules.
          isolate: false,
          globalSetup: ['test/support/build-node.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      workerProject('worker'),
      // The whole workerd suite again through a local Hyperdrive binding: with TEST_DATABASE_URL (CI), to keep npm test short.
      ...(process.env.TEST_DATABASE_URL ? [workerProject('worker-hyperdrive')] : []),
    ],
  },
});
