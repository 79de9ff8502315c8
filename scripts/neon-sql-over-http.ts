/**
 * Neon's SQL-over-HTTP protocol — what `neon()` from @neondatabase/serverless and drizzle-orm/neon-http
 * speak — in front of any Postgres server, so that path runs for real in tests and local development.
 * Local use only: it runs whatever SQL it is sent on whatever server the connection string names.
 *
 * The protocol, as the driver (1.2.0) and Neon's proxy implement it:
 * - `POST /sql`, the target in the `Neon-Connection-String` header; body `{query, params, arrayMode?}`
 *   or, for a non-interactive transaction, `{queries: [{query, params, arrayMode?}, ...]}` run as one
 *   transaction opened with `Neon-Batch-Isolation-Level` / `-Read-Only` / `-Deferrable`.
 * - 200 with `{command, rowCount, rows, fields: [{name, dataTypeID, ...}], rowAsArray}` per statement
 *   (`{results: [...]}` for a batch); values are Postgres's text output, which the driver parses from
 *   `dataTypeID`; rows are arrays with `Neon-Array-Mode: true` (the driver always sends it), objects otherwise.
 * - 400 with Postgres's error fields (`message`, `code`, `detail`, `constraint`, ...), which the driver
 *   copies onto a `NeonDbError`; any other status is a server error the driver reports as text.
 *
 * Like Neon, it keeps sessions open between requests: one bounded pg pool per connection string.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import pg from 'pg';

/** Sessions per connection string, and connection strings kept open at once (least recently used closed first). */
const POOL_SIZE = 10;
const MAX_POOLS = 16;

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

/** The fields of a Postgres error, as Neon returns them (null when Postgres did not send one). */
const ERROR_FIELDS = [
  'code', 'detail', 'hint', 'position', 'internalPosition', 'internalQuery', 'severity', 'where',
  'table', 'column', 'schema', 'dataType', 'constraint', 'file', 'line', 'routine',
] as const;

/** Rows come back exactly as Postgres sends them: the client parses them by `dataTypeID`. */
const RAW_TEXT: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };

interface Statement {
  query: string;
  params: (string | null)[];
  arrayMode: boolean;
}

interface SqlRequest {
  connectionString: string;
  statements: Statement[];
  /** `BEGIN ...` when the body is a batch; a single statement runs on its own. */
  begin?: string;
}

/** A request the protocol rejects: answered 400 `{message}` without touching the database. */
class BadRequest extends Error {}

export interface SqlOverHttp {
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

export function sqlOverHttp(): SqlOverHttp {
  const pools = new Map<string, pg.Pool>();

  function poolFor(connectionString: string): pg.Pool {
    let pool = pools.get(connectionString);
    if (pool) pools.delete(connectionString); // re-inserted below as the most recently used
    else {
      pool = new pg.Pool({ connectionString, max: POOL_SIZE, idleTimeoutMillis: 30_000, types: RAW_TEXT });
      // An idle session that dies (server restart, DROP DATABASE ... WITH (FORCE)) just leaves the pool.
      pool.on('error', () => {});
    }
    pools.set(connectionString, pool);
    for (const [oldest, stale] of pools) {
      if (pools.size <= MAX_POOLS) break;
      pools.delete(oldest);
      void stale.end();
    }
    return pool;
  }

  async function execute({ connectionString, statements, begin }: SqlRequest) {
    const client = await poolFor(connectionString).connect();
    try {
      if (!begin) return await run(client, statements[0]!);
      await client.query(begin);
      try {
        const results = [];
        for (const statement of statements) results.push(await run(client, statement));
        await client.query('COMMIT');
        return { results };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      // A session left inside a transaction (a lone `BEGIN`, a failed ROLLBACK) is not reused.
      client.release(client.getTransactionStatus() !== 'I');
    }
  }

  return {
    async handle(request, response) {
      let status = 200;
      let body: unknown;
      try {
        body = await execute(parseRequest(request.headers, await readBody(request)));
      } catch (error) {
        status = error instanceof BadRequest || error instanceof pg.DatabaseError ? 400 : 500;
        body = errorBody(error);
      }
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    },
    async close() {
      const open = [...pools.values()];
      pools.clear();
      await Promise.all(open.map((pool) => pool.end()));
    },
  };
}

async function run(client: pg.PoolClient, { query, params, arrayMode }: Statement) {
  // Extended protocol even without parameters, as Neon: one statement per query, never a multi-statement string.
  const config: pg.QueryArrayConfig & { queryMode: 'extended' } = { text: query, values: params, rowMode: 'array', queryMode: 'extended' };
  const result = await client.query(config);
  const fields = result.fields.map(({ name, dataTypeID, tableID, columnID, dataTypeSize, dataTypeModifier }) => (
    { name, dataTypeID, tableID, columnID, dataTypeSize, dataTypeModifier, format: 'text' }
  ));
  const rows = arrayMode ? result.rows : result.rows.map((row) => Object.fromEntries(fields.map((field, i) => [field.name, row[i]])));
  return { command: result.command, rowCount: result.rowCount, rows, fields, rowAsArray: arrayMode };
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('request body is not JSON');
  }
}

function parseRequest(headers: IncomingMessage['headers'], body: unknown): SqlRequest {
  const header = (name: string) => headers[name.toLowerCase()] as string | undefined;
  const connectionString = header('Neon-Connection-String');
  if (!connectionString || !isPostgresUrl(connectionString)) {
    throw new BadRequest('Neon-Connection-String header missing or not a postgres:// URL');
  }
  if (header('Authorization')) {
    throw new BadRequest('the local SQL-over-HTTP endpoint does not support JWT authentication (authToken)');
  }
  if (header('Neon-Raw-Text-Output') !== 'true') {
    // Neon would convert values to JSON types; every driver version sends `true` and parses text itself.
    throw new BadRequest('the local SQL-over-HTTP endpoint supports only Neon-Raw-Text-Output: true');
  }
  const defaultArrayMode = header('Neon-Array-Mode') === 'true';
  const statement = (data: unknown): Statement => {
    const { query, params = [], arrayMode } = (data ?? {}) as Record<string, unknown>;
    if (typeof query !== 'string') throw new BadRequest('query must be a string');
    if (!Array.isArray(params)) throw new BadRequest('params must be an array');
    if (arrayMode !== undefined && typeof arrayMode !== 'boolean') throw new BadRequest('arrayMode must be a boolean');
    return { query, params: params.map(paramText), arrayMode: arrayMode ?? defaultArrayMode };
  };
  const { queries } = (body ?? {}) as { queries?: unknown };
  if (!Array.isArray(queries)) return { connectionString, statements: [statement(body)] };

  const isolationLevel = header('Neon-Batch-Isolation-Level');
  if (isolationLevel !== undefined && !ISOLATION_LEVELS[isolationLevel]) throw new BadRequest('invalid isolation level');
  const begin = [
    'BEGIN',
    isolationLevel && `ISOLATION LEVEL ${ISOLATION_LEVELS[isolationLevel]}`,
    header('Neon-Batch-Read-Only') === 'true' && 'READ ONLY',
    header('Neon-Batch-Deferrable') === 'true' && 'DEFERRABLE',
  ].filter(Boolean).join(' ');
  return { connectionString, statements: queries.map(statement), begin };
}

function isPostgresUrl(value: string): boolean {
  try {
    return /^postgres(ql)?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** JSON parameters as Postgres text, as Neon converts them (the driver already sends strings or null). */
function paramText(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return arrayLiteral(value);
  return JSON.stringify(value);
}

function arrayLiteral(values: unknown[]): string {
  const element = (value: unknown): string => {
    if (value === null) return 'NULL';
    if (Array.isArray(value)) return arrayLiteral(value);
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return `"${text.replace(/["\\]/g, '\\$&')}"`;
  };
  return `{${values.map(element).join(',')}}`;
}

function errorBody(error: unknown): Record<string, unknown> {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof pg.DatabaseError)) return { message };
  return { message, ...Object.fromEntries(ERROR_FIELDS.map((field) => [field, error[field] ?? null])) };
}
