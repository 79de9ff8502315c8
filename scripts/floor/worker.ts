/**
 * The floor of the Worker path (`npm run bench:worker`, mode `worker-floor`): a Worker that does only
 * what no Worker on Neon's SQL over HTTP can avoid — one statement per upload, one per commit read,
 * each its own HTTP request and transaction — with none of the app (validation, auth, the v1 shapes).
 * What it reaches bounds what the app in workerd can reach on this machine.
 */
import { neon } from '@neondatabase/serverless';
import { configureNeonHttpForProxy } from '../../src/db/connect-neon';
import { FLOOR_COMMIT_READ, FLOOR_UPSERT, floorCommit, floorRows } from './floor-sql';

interface FloorEnv {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
}

let sql: ReturnType<typeof neon> | undefined;

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    if (!sql) {
      configureNeonHttpForProxy(env.NEON_WS_PROXY);
      sql = neon(env.DATABASE_URL);
    }
    if (request.method === 'POST') {
      const [row] = (await sql.query(FLOOR_UPSERT, [floorRows([await request.json()])])) as unknown[];
      return Response.json(row);
    }
    const url = new URL(request.url);
    const commit = [url.searchParams.get('project'), url.pathname.split('/').pop()];
    return Response.json(floorCommit((await sql.query(FLOOR_COMMIT_READ, commit)) as unknown[]));
  },
};
