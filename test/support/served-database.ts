/**
 * A Postgres reachable over the network for code that can't use an in-process handle — the Worker
 * in workerd (through the Neon driver and the WebSocket proxy) and the benchmark's HTTP server.
 * A scratch database on TEST_DATABASE_URL's server when set; otherwise embedded PGlite served
 * over the wire protocol, so these tests also pass on a machine without Postgres.
 */
import { servePglite } from '../../scripts/pglite-server';
import { connectNodeDatabase } from '../../src/db/connect-node';
import { createScratchDatabase } from './databases';

export interface ServedDatabase {
  url: string;
  engine: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export async function serveTestDatabase(): Promise<ServedDatabase> {
  const baseUrl = process.env.TEST_DATABASE_URL;
  if (baseUrl) {
    const scratch = await createScratchDatabase(baseUrl);
    await (await connectNodeDatabase({ kind: 'postgres', url: scratch.url })).close(); // migrates
    return { url: scratch.url, engine: 'postgres', close: scratch.drop };
  }
  return { ...(await servePglite()), engine: 'pglite' };
}
