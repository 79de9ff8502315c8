/**
 * A Worker that runs one piece of the app's upload path `n` times inside one request (`npm run
 * bench:workerd-loop`): what a piece costs in workerd, without the network, workerd's own work per
 * request, or the sampling profiler's distortion. `GET /?piece=<name>&n=<count>`:
 * - `version`: `GET /api/v1/version` through the whole app (no database);
 * - `upload`: `POST /api/v1/output/` through the whole app, on its Neon HTTP handle;
 * - `write`: the app's write alone (`outputCoalescer`, one upload at a time), on its own Neon HTTP handle;
 * - `validate`: the upload's zod schema on its parsed body;
 * - `check-json`: the JSON body checks (`jsonBodyProblem`);
 * - `statement`: building and compiling the upload's statement.
 * Every upload is a new output (a new test input), as in `npm run bench:worker`.
 */
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Db } from '../../src/db/client';
import { configureNeonHttpForProxy, neonHttpDatabase } from '../../src/db/connect-neon';
import { outputUpload, type OutputUpload } from '../../src/domain/ingest/envelope';
import { ingestStatements, outputAsWritten } from '../../src/domain/ingest/ingest-outputs';
import { outputCoalescer } from '../../src/ingestion/output-coalescer';
import { receiptClock } from '../../src/ingestion/receipts';
import { jsonBodyProblem } from '../../src/lib/json-body';
import entry, { type WorkerEnv } from '../../src/worker';
import capturedRequests from '../../test/fixtures/qatools/qatools-requests.jsonl';

type LoopEnv = WorkerEnv & { DATABASE_URL: string; NEON_WS_PROXY: string };

/** The qa CLI's first captured upload. */
const sample = JSON.parse((capturedRequests as string).split('\n')[0]!).json as Record<string, unknown>;
const sampleText = JSON.stringify(sample);
const parsed = outputUpload.parse(sample);
const dialect = new PgDialect();
const receivedAt = receiptClock();

let inputs = 0;
/** The sample on a test input of its own. */
const nextInput = () => {
  const path = `loop/${inputs++}.jpg`;
  return { input_path: path, rel_input_path: path };
};

let writer: { db: Db; write: ReturnType<typeof outputCoalescer> } | undefined;

const pieces: Record<string, (env: LoopEnv, ctx: ExecutionContext) => unknown> = {
  version: (env, ctx) => entry.fetch!(new Request('http://loop/api/v1/version') as Request<unknown, IncomingRequestCfProperties>, env, ctx),
  upload: (env, ctx) => {
    const body = new TextEncoder().encode(JSON.stringify({ ...sample, ...nextInput() }));
    // With its length, as the qa CLI sends it (without one, the body limit reads the body through a stream of its own).
    const headers = { 'content-type': 'application/json', 'content-length': String(body.byteLength) };
    return entry.fetch!(new Request('http://loop/api/v1/output/', { method: 'POST', headers, body }) as Request<unknown, IncomingRequestCfProperties>, env, ctx);
  },
  write: (env) => {
    if (!writer) {
      configureNeonHttpForProxy(env.NEON_WS_PROXY);
      writer = { db: neonHttpDatabase(env.DATABASE_URL), write: outputCoalescer('shared-disk') };
    }
    return writer.write(writer.db, { upload: { ...parsed, ...nextInput() } as OutputUpload, receivedAt: receivedAt() });
  },
  validate: () => outputUpload.safeParse(JSON.parse(sampleText)),
  'check-json': () => jsonBodyProblem(JSON.parse(sampleText), 32),
  statement: () => dialect.sqlToQuery(ingestStatements([{ upload: parsed as OutputUpload, receivedAt: receivedAt() }], outputAsWritten('shared-disk'))[0]!),
};

export default {
  async fetch(request: Request, env: LoopEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const piece = pieces[url.searchParams.get('piece') ?? ''];
    if (!piece) return new Response(`pieces: ${Object.keys(pieces).join(', ')}`, { status: 404 });
    const n = Number(url.searchParams.get('n') ?? 1000);
    for (let i = 0; i < n; i++) {
      const result = await piece(env, ctx);
      if (result instanceof Response) {
        // Read to the end, as a client would; a failure ends the loop with its answer.
        const body = await result.text();
        if (!result.ok) return new Response(`${url.search}: ${result.status} ${body}`, { status: 500 });
      }
    }
    return new Response('done');
  },
};
