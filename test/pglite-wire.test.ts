/**
 * PGlite served over the wire to several connections at once (scripts/pglite-wire.ts), as the Worker
 * reaches it in `npm run dev` and in the workerd tests without TEST_DATABASE_URL: one session, shared
 * by turns, each turn a whole exchange or transaction block.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { servePglite, type ServedPglite } from '../scripts/pglite-server';

let served: ServedPglite;
const clients: pg.Client[] = [];

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: served.url });
  client.on('error', () => {}); // a test ends some connections on purpose
  await client.connect();
  clients.push(client);
  return client;
}

beforeAll(async () => {
  served = await servePglite();
  const setup = await connect();
  await setup.query('CREATE TABLE wire_rows (id int PRIMARY KEY, owner text NOT NULL)');
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.end().catch(() => {})));
  await served?.close();
});

test("connections' parameterised statements and transactions run at once, each with its own answers", { timeout: 20_000 }, async () => {
  const connections = await Promise.all([1, 2, 3, 4].map(() => connect()));
  const failures: unknown[] = [];
  await Promise.all(
    connections.map(async (client, k) => {
      for (let i = 0; i < 50; i++) {
        try {
          if (k % 2) {
            // Different parameter counts: a Bind meeting another connection's Parse would fail.
            const { rows } = await client.query<{ sum: number }>('SELECT $1::int + $2::int + $3::int AS sum', [i, k, 1]);
            expect(rows[0]!.sum).toBe(i + k + 1);
          } else {
            await client.query('BEGIN');
            await client.query('INSERT INTO wire_rows (id, owner) VALUES ($1, $2)', [k * 1000 + i, `c${k}`]);
            const { rows } = await client.query<{ mine: number }>('SELECT count(*)::int AS mine FROM wire_rows WHERE owner = $1', [`c${k}`]);
            expect(rows[0]!.mine).toBe(i + 1);
            await client.query('COMMIT');
          }
        } catch (error) {
          failures.push(error);
        }
      }
    }),
  );
  expect(failures).toEqual([]);
});

test('an answer larger than a chunk of PGlite\'s output arrives whole', async () => {
  const client = await connect();
  const { rows } = await client.query<{ text: string; digest: string }>(
    "SELECT string_agg(i::text, ',') AS text, md5(string_agg(i::text, ',')) AS digest FROM generate_series(1, 50000) i",
  );
  expect(rows[0]!.text.split(',')).toHaveLength(50000);
  expect(createHash('md5').update(rows[0]!.text).digest('hex')).toBe(rows[0]!.digest);
});

test("a transaction keeps the session: another connection's statement waits for its end, and doesn't see inside it", async () => {
  const [writer, reader] = await Promise.all([connect(), connect()]);
  await writer.query('BEGIN');
  await writer.query("INSERT INTO wire_rows (id, owner) VALUES (9001, 'writer')");
  let readDone = false;
  const read = reader.query<{ n: number }>("SELECT count(*)::int AS n FROM wire_rows WHERE owner = 'writer'").then((result) => ((readDone = true), result));
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(readDone).toBe(false);
  await writer.query('ROLLBACK');
  expect((await read).rows[0]!.n).toBe(0);
});

test('a connection gone inside a transaction leaves the session rolled back, to the next connection', async () => {
  const [leaving, next] = await Promise.all([connect(), connect()]);
  await leaving.query('BEGIN');
  await leaving.query("INSERT INTO wire_rows (id, owner) VALUES (9002, 'gone')");
  (leaving as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  const { rows } = await next.query<{ n: number; inside: boolean }>("SELECT count(*)::int AS n, now() = statement_timestamp() AS inside FROM wire_rows WHERE owner = 'gone'");
  expect(rows[0]).toEqual({ n: 0, inside: true }); // rolled back, and not inside the gone connection's transaction
});

/** A raw connection to the served database, for what a pg client never sends. */
async function rawSocket() {
  const [host, port] = new URL(served.url).host.split(':');
  const socket = net.connect(Number(port), host);
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => (received = Buffer.concat([received, data])));
  return {
    socket,
    /** What the server sent until it went quiet for a moment. */
    async answer() {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const answer = received;
      received = Buffer.alloc(0);
      return answer;
    },
  };
}

const startupMessage = (code: number, parameters: Record<string, string>) => {
  const body = Buffer.from(Object.entries(parameters).map(([k, v]) => `${k}\0${v}\0`).join('') + '\0');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(code, 4);
  return Buffer.concat([head, body]);
};
const typedMessage = (type: string, text: string) => {
  const body = Buffer.from(text ? `${text}\0` : '');
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
};

test('startups PGlite would die of are refused (GSS encryption, no user, another protocol), and later connections start', async () => {
  const gss = await rawSocket();
  gss.socket.write(startupMessage(80877104, {}));
  expect((await gss.answer()).toString()).toBe('N');
  for (const bad of [startupMessage(196608, { database: 'postgres' }), startupMessage(131072, { user: 'postgres' })]) {
    const raw = await rawSocket();
    raw.socket.write(bad);
    expect((await raw.answer()).subarray(0, 1).toString()).toBe('E');
  }
  const client = await connect();
  expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
});

test('COPY FROM STDIN is refused with an error, and the session goes on', async () => {
  const client = await connect();
  await expect(client.query('COPY wire_rows FROM STDIN')).rejects.toThrow(/not supported/);
  expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
});

test('what a client sends just before Terminate runs before its connection ends', async () => {
  const raw = await rawSocket();
  raw.socket.write(startupMessage(196608, { user: 'postgres', database: 'postgres' }));
  expect((await raw.answer()).includes(Buffer.from('Z\0\0\0\x05I', 'latin1'))).toBe(true);
  raw.socket.write(Buffer.concat([typedMessage('Q', "INSERT INTO wire_rows (id, owner) VALUES (9003, 'terminated')"), typedMessage('X', '')]));
  await new Promise((resolve) => raw.socket.once('close', resolve));
  const client = await connect();
  expect((await client.query("SELECT id FROM wire_rows WHERE owner = 'terminated'")).rows).toEqual([{ id: 9003 }]);
});

test('closing the server while a connection is inside a transaction ends it before PGlite closes', async () => {
  const failures = vi.spyOn(console, 'error');
  const own = await servePglite();
  const client = new pg.Client({ connectionString: own.url });
  client.on('error', () => {});
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1');
  await own.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(failures).not.toHaveBeenCalled();
  failures.mockRestore();
});
