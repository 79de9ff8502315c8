/**
 * The floors of the Node entry's upload path (`npm run bench`, part `ingest`): a bare `node:http`
 * server — no Hono, validation, authentication or idempotency — that stores each upload, with
 * uploads arriving together written together (group commit), on node-postgres. FLOOR_WRITE says how:
 * - `table`: a one-table upsert (floor-sql.ts), answered with its row: the least any server storing
 *   each upload does;
 * - `app`: the app's own write (its coalescer and statement: project, commit, batch, test input and
 *   output), answered in the v1 shape: the app without its framework.
 * Run by scripts/bench.ts on a scratch database (DATABASE_URL); prints `listening <port>`.
 */
import http from 'node:http';
import pg from 'pg';
import { connectNodeDatabase } from '../../src/db/connect-node';
import type { OutputUpload } from '../../src/domain/ingest/envelope';
import { NODE_GATHER_MS, outputCoalescer } from '../../src/ingestion/output-coalescer';
import { receiptClock } from '../../src/ingestion/receipts';
import { FLOOR_TABLE, FLOOR_UPSERT, floorRows } from './floor-sql';

type Write = (upload: Record<string, unknown>) => Promise<unknown>;

async function tableWriter(databaseUrl: string): Promise<Write> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  await pool.query(FLOOR_TABLE);
  let waiting: { upload: Record<string, unknown>; resolve(row: unknown): void; reject(error: unknown): void }[] = [];
  async function writeGroup() {
    const group = waiting;
    waiting = [];
    try {
      const { rows } = await pool.query<{ i: number }>({ name: 'floor', text: FLOOR_UPSERT, values: [floorRows(group.map((g) => g.upload))] });
      for (const row of rows) group[row.i]!.resolve(row);
    } catch (error) {
      for (const { reject } of group) reject(error);
    }
  }
  return (upload) =>
    new Promise((resolve, reject) => {
      if (waiting.length === 0) setImmediate(writeGroup);
      waiting.push({ upload, resolve, reject });
    });
}

async function appWriter(databaseUrl: string): Promise<Write> {
  const { db } = await connectNodeDatabase({ kind: 'postgres', url: databaseUrl }); // migrates
  const write = outputCoalescer('shared-disk', { gatherMs: NODE_GATHER_MS });
  const receivedAt = receiptClock();
  return async (upload) => (await write(db, { upload: upload as OutputUpload, receivedAt: receivedAt() })).written.body;
}

const databaseUrl = process.env.DATABASE_URL!;
const write = process.env.FLOOR_WRITE === 'app' ? await appWriter(databaseUrl) : await tableWriter(databaseUrl);

function answer(response: http.ServerResponse, status: number, body: string) {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    let upload: Record<string, unknown>;
    try {
      upload = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
    } catch {
      return answer(response, 400, JSON.stringify({ detail: 'not JSON' }));
    }
    write(upload).then(
      (row) => answer(response, 200, JSON.stringify(row)),
      (error: unknown) => answer(response, 500, JSON.stringify({ detail: String(error) })),
    );
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
