/**
 * What one upload statement costs Postgres, by how it is sent — not a test: it prints figures.
 *
 *   npm run bench:statement -- [--statements 1000] [--base-url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * The statement is the app's own (`ingestStatements`, one qa CLI upload each, every one a new output),
 * run one at a time on one session of a scratch database, in rounds alternating:
 * - unnamed:  parsed, analysed and planned on every execution — as over Neon's SQL over HTTP, which has no
 *             prepared statements (the Worker's uploads);
 * - prepared: a named statement, parsed once per session and planned as Postgres's plan cache decides —
 *             as node-postgres sends it (the Node entry's uploads);
 * - known:    a named statement, as `prepared`, for uploads whose parents the process has written before:
 *             looked up by their ids (domain/ingest/known-parents.ts) — most of a CI run's uploads;
 * - PREPARE:  parsing, analysis and rewriting alone (no planning, no execution);
 * - function: the call of the function whose body it is, which keeps its plan for the session — as the
 *             Worker sends it over HTTP (src/db/statement-functions.ts).
 * Postgres's CPU is that of the local server's processes (`postgresCpuSeconds`), per statement.
 */
import { parseArgs } from 'node:util';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { connectNodeDatabase } from '../src/db/connect-node';
import { definedColumns } from '../src/db/statement-functions';
import { ingestOutputs, ingestStatements, outputAsWritten } from '../src/domain/ingest/ingest-outputs';
import type { OutputUpload } from '../src/domain/ingest/envelope';
import { receiptClock } from '../src/ingestion/receipts';
import { createScratchDatabase } from '../test/support/databases';
import { postgresCpuSeconds } from '../test/support/node-entry';
import { outputUpload, shaOf } from '../test/support/uploads';

const { values: args } = parseArgs({
  options: {
    statements: { type: 'string', default: '1000' },
    'base-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const STATEMENTS = Number(args.statements);
const dialect = new PgDialect();
const receivedAt = receiptClock();
const answer = outputAsWritten('shared-disk');

let uploads = 0;
/** The test inputs of the `known` statements' uploads, written first: as many as a CI run's batch. */
const KNOWN_INPUTS = 250;
/** The next upload: a new output of the bench's commit each time, on a new test input unless `known`. */
const nextUpload = (known = false) =>
  outputUpload({
    project: 'bench/statement',
    sha: shaOf(1),
    input: known ? `known/${uploads % KNOWN_INPUTS}.jpg` : `inputs/${uploads}.jpg`,
    status: 'done',
    metrics: { psnr: 30 },
    extra: { extra_parameters: { upload: uploads++ } },
  }) as OutputUpload;

/** The next upload's statement, compiled (not timed): parents to find or create, or `known`. */
function nextStatement(parents: 'created' | 'known' = 'created') {
  const [statement] = ingestStatements([{ upload: nextUpload(parents === 'known'), receivedAt: receivedAt() }], answer, parents);
  return dialect.sqlToQuery(statement!);
}

type Way = 'unnamed' | 'prepared' | 'known' | 'PREPARE' | 'function';
/** The function `function` calls, defined as statement-functions.ts defines one (from the columns the statement answered). */
const FUNCTION = 'bench_upload_statement';
const send: Record<Way, (client: pg.Client, i: number) => Promise<unknown>> = {
  unnamed: (client) => {
    const { sql: text, params } = nextStatement();
    return client.query({ text, values: params });
  },
  prepared: (client) => {
    const { sql: text, params } = nextStatement();
    return client.query({ name: 'upload', text, values: params });
  },
  known: (client) => {
    const { sql: text, params } = nextStatement('known');
    return client.query({ name: 'upload-known', text, values: params });
  },
  function: (client) => {
    const { params } = nextStatement();
    return client.query(`SELECT * FROM qaboard_statements.${FUNCTION}(${params.map((_, k) => `$${k + 1}`).join(', ')})`, params);
  },
  PREPARE: async (client, i) => {
    await client.query(`PREPARE upload_${i} AS ${nextStatement().sql}`);
    await client.query(`DEALLOCATE upload_${i}`);
  },
};

const database = await createScratchDatabase(args['base-url']!);
try {
  const app = await connectNodeDatabase({ kind: 'postgres', url: database.url }); // migrates
  // the parents of the `known` statements' uploads, written (and remembered) as the app writes them
  await ingestOutputs(app.db, Array.from({ length: KNOWN_INPUTS }, () => ({ upload: nextUpload(true), receivedAt: receivedAt() })), answer);
  await app.close();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const sample = nextStatement();
    const { fields } = await client.query({ text: sample.sql, values: sample.params });
    await client.query('SELECT qaboard_statements.define_statement_function($1, $2, $3, $4, $5)', [FUNCTION, sample.sql, ...definedColumns(fields)]);
    console.log(`the app's upload statement: ${sample.sql.length} characters, ${sample.params.length} parameters; ${STATEMENTS} per round, one at a time\n`);
    console.log('| round | sent | Postgres CPU ms / statement | wall ms / statement |');
    console.log('|---|---|---|---|');
    for (const round of [1, 2]) {
      for (const way of ['unnamed', 'prepared', 'known', 'PREPARE', 'function'] as const) {
        const cpuBefore = postgresCpuSeconds();
        const started = performance.now();
        for (let i = 0; i < STATEMENTS; i++) await send[way](client, i);
        const perStatement = (ms: number) => (ms / STATEMENTS).toFixed(2);
        console.log(`| ${round} | ${way} | ${perStatement((postgresCpuSeconds() - cpuBefore) * 1000)} | ${perStatement(performance.now() - started)} |`);
      }
    }
  } finally {
    await client.end();
  }
} finally {
  await database.drop();
}
