/**
 * The floors of the Worker path (`npm run bench:worker`, modes `worker-floor` and `worker-floor-app`):
 * a Worker on Neon's SQL over HTTP with none of the app's framework (Hono, validation, auth, the
 * request log). FLOOR_WRITE says what it does per request:
 * - `table`: one statement per upload (a one-table upsert) and one per commit read — what no Worker on
 *   this transport can avoid;
 * - `app`: the app's own write (its group commit, `outputCoalescer`, and statement) and commit read (`readCommit`) on
 *   its Neon HTTP handle — the app in workerd without its framework.
 */
import { neon } from '@neondatabase/serverless';
import { configureNeonHttpForProxy, neonHttpDatabase } from '../../src/db/connect-neon';
import type { OutputUpload } from '../../src/domain/ingest/envelope';
import { readCommit } from '../../src/domain/read/commits';
import { stringifyWithRawJson } from '../../src/domain/v1-json';
import { outputCoalescer } from '../../src/ingestion/output-coalescer';
import { receiptClock } from '../../src/ingestion/receipts';
import { FLOOR_COMMIT_READ, FLOOR_UPSERT, floorCommit, floorRows } from './floor-sql';

interface FloorEnv {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
  FLOOR_WRITE?: 'table' | 'app';
}

interface Floor {
  write(upload: Record<string, unknown>): Promise<unknown>;
  read(project: string, sha: string): Promise<unknown>;
}

function tableFloor(databaseUrl: string): Floor {
  const sql = neon(databaseUrl);
  return {
    write: async (upload) => ((await sql.query(FLOOR_UPSERT, [floorRows([upload])])) as unknown[])[0],
    read: async (project, sha) => floorCommit((await sql.query(FLOOR_COMMIT_READ, [project, sha])) as unknown[]),
  };
}

function appFloor(databaseUrl: string): Floor {
  const db = neonHttpDatabase(databaseUrl);
  const write = outputCoalescer('shared-disk');
  const receivedAt = receiptClock();
  return {
    write: async (upload) => (await write(db, { upload: upload as OutputUpload, receivedAt: receivedAt() })).written.body,
    read: (project, sha) => readCommit(db, project, sha, { metrics: [], withOutputs: true, defaultStorage: 'shared-disk' }),
  };
}

let floor: Floor | undefined;

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    if (!floor) {
      configureNeonHttpForProxy(env.NEON_WS_PROXY);
      floor = env.FLOOR_WRITE === 'app' ? appFloor(env.DATABASE_URL) : tableFloor(env.DATABASE_URL);
    }
    if (request.method === 'POST') return Response.json(await floor.write(await request.json()));
    const url = new URL(request.url);
    const commit = await floor.read(url.searchParams.get('project')!, url.pathname.split('/').pop()!);
    return new Response(stringifyWithRawJson(commit), { headers: { 'content-type': 'application/json' } }); // the app's commit JSON has raw parts
  },
};
