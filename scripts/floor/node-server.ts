/**
 * The floor of the Node entry's upload path (`npm run bench`, part `ingest`): a bare `node:http`
 * server that group-commits — uploads arriving in the same turn of the event loop are one upsert —
 * on a pool of node-postgres connections, with none of the app (validation, auth, parents, the v1
 * shapes). Its figure bounds what any server storing each upload can reach on this machine.
 * Run by scripts/bench.ts; prints `listening <port>`.
 */
import http from 'node:http';
import pg from 'pg';
import { FLOOR_TABLE, FLOOR_UPSERT, floorRows } from './floor-sql';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
await pool.query(FLOOR_TABLE);

let waiting: { upload: Record<string, unknown>; response: http.ServerResponse }[] = [];

function answer(response: http.ServerResponse, status: number, body: string) {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

async function writeGroup() {
  const group = waiting;
  waiting = [];
  try {
    const { rows } = await pool.query({ name: 'floor', text: FLOOR_UPSERT, values: [floorRows(group.map((g) => g.upload))] });
    group.forEach(({ response }, i) => answer(response, 200, JSON.stringify(rows[i])));
  } catch (error) {
    for (const { response } of group) answer(response, 500, JSON.stringify({ detail: String(error) }));
  }
}

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (waiting.length === 0) setImmediate(writeGroup);
    waiting.push({ upload: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>, response });
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
