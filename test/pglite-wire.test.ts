/**
 * PGlite served over the wire to several connections at once (scripts/pglite-wire.ts), as the Worker
 * reaches it in `npm run dev` and in the workerd tests without TEST_DATABASE_URL: one session, shared
 * by turns, each turn a whole exchange or transaction block.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
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
