/**
 * Embedded PGlite served over the Postgres wire protocol (scripts/pglite-wire.ts), migrations applied: a
 * Postgres for code that can't use an in-process handle — the Worker in workerd (through the Neon
 * driver and scripts/neon-ws-proxy.ts), in tests and in `npm run dev`. No server to install.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { connectNodeDatabase } from '../src/db/connect-node';
import { servePgliteWire } from './pglite-wire';

export interface ServedPglite {
  /** `postgres://postgres:postgres@127.0.0.1:<port>/postgres` */
  url: string;
  close(): Promise<void>;
}

/** `dataDir` undefined: in memory. Listens on a free port of 127.0.0.1. */
export async function servePglite(dataDir?: string): Promise<ServedPglite> {
  if (dataDir) mkdirSync(path.dirname(dataDir), { recursive: true });
  const client = await PGlite.create(dataDir);
  await connectNodeDatabase({ kind: 'pglite', client }); // migrates
  const wire = await servePgliteWire(client);
  return {
    url: `postgres://postgres:postgres@${wire.address}/postgres`,
    async close() {
      await wire.close();
      await client.close();
    },
  };
}
