/**
 * Hot statements over Neon's SQL over HTTP, sent as calls of functions that keep their plans.
 *
 * SQL over HTTP has no prepared statements: Postgres parses, analyses and plans every statement anew.
 * For an upload's statement that is two thirds of its Postgres CPU (`npm run bench:statement`: ~2.5 ms
 * sent as is, ~0.9 ms through its function). A PL/pgSQL function keeps the plans of its statements for
 * the life of the session, and Neon's pooled sessions outlive requests. So a statement that
 * `preparedRows` or `readBatch` (client.ts) sends over HTTP goes as
 * `SELECT * FROM qaboard_statements.qaboard_s_<hash>($1, …)`: the function whose body it is, named by a
 * SHA-256 of the schema version and its text — a statement that differs, or a schema that changed, has a
 * function of its own.
 *
 * Nobody installs these functions ahead of time. The first call of a statement's function that doesn't
 * exist yet fails with `undefined_function`, having done nothing: the statement is then sent as is, and
 * defined as a function from its text and the columns it answered
 * (`qaboard_statements.define_statement_function`, drizzle/0013).
 *
 * The function keeps the names and order its columns had then: a hot statement names its output columns
 * in its text, never `*` over a table (a column renamed or reordered under the same schema version would
 * change them without failing the function's check of their types). A function that can't serve its
 * statement fails having done nothing too: its statement's columns no longer have the types it was
 * defined with (its tables changed under a schema version that didn't: a migration run after the deploy,
 * a hand-made change), or the role may not use the functions' schema. The statement is then sent as is,
 * from then on. Functions of statements the app no longer sends stay, unused; dropping them is safe
 * (`DROP TYPE qaboard_statements.qaboard_s_… CASCADE` takes the function with its result type): they are
 * defined again when needed.
 */
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { databaseFailure } from '../lib/database-failure';
import { SCHEMA_VERSION } from './schema-version';

/** A result column as the Neon driver (and node-postgres) describes it. */
interface Field {
  name: string;
  dataTypeID: number;
  dataTypeModifier?: number;
}
interface FullResult {
  rows: unknown[];
  fields: Field[];
}

/** The part of Neon's `neon()` query function a batch uses (connect-neon.ts: made with `fullResults`). */
interface NeonHttpClient {
  query(text: string, params: unknown[], options: { arrayMode: false; fullResults: true }): unknown;
  transaction(queries: unknown[], options: Record<string, unknown>): Promise<FullResult[]>;
}

/** What is used of a Drizzle handle on Neon's HTTP session (client.ts's `Db`, which imports this module). */
interface HttpDb {
  execute(query: SQL): PromiseLike<unknown>;
}

const dialect = new PgDialect();

/** Postgres's FUNC_MAX_ARGS: a statement with more parameters is sent as is. */
const MAX_FUNCTION_ARGUMENTS = 100;
const SCHEMA = sql.identifier('qaboard_statements');
const UNDEFINED_FUNCTION = '42883';
const LOCK_NOT_AVAILABLE = '55P03';
/**
 * Failures of a call that say the function can't serve its statement, having run nothing: RETURN QUERY's
 * check (`datatype_mismatch`: its columns' types changed), a role that may not use the functions' schema
 * (`insufficient_privilege`), a database without it (`invalid_schema_name`). A statement that raises one
 * itself raises it again sent as is, and only then is its error the answer.
 */
const UNFIT_FUNCTION = new Set(['42804', '42501', '3F000']);

/**
 * Function names by statement text: few distinct texts (bounded all the same, as client.ts
 * `statementNames`). The names, not the promises that compute them: a Worker isolate's requests share
 * plain data only (see ingestion/output-coalescer.ts `handOff`).
 */
const functionNames = new Map<string, string>();
const MAX_FUNCTION_NAMES = 1_000;

/**
 * Statements whose function this isolate could not define (e.g. a result column named twice, which a
 * function can't return, or a role that may not create functions) or that no longer fits: sent as is
 * from then on.
 */
const sentAsIs = new Set<string>();

function sendAsIs(text: string, name: string, why: string) {
  sentAsIs.add(text);
  console.error(`statement ${name} is sent as is from now on: ${why}`);
}

async function functionName(text: string): Promise<string> {
  const known = functionNames.get(text);
  if (known) return known;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${SCHEMA_VERSION}\n${text}`));
  const name = `qaboard_s_${[...new Uint8Array(digest, 0, 20)].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
  if (functionNames.size >= MAX_FUNCTION_NAMES) functionNames.clear();
  functionNames.set(text, name);
  return name;
}

/** The function a compiled statement is sent as, or undefined when it goes as is. */
async function functionOf(statement: { sql: string; params: unknown[] }): Promise<string | undefined> {
  if (sentAsIs.has(statement.sql) || statement.params.length > MAX_FUNCTION_ARGUMENTS) return undefined;
  return functionName(statement.sql);
}

/** `define_statement_function`'s columns for a statement that answered `fields`: their names, type oids and type modifiers. */
export const definedColumns = (fields: Field[]) =>
  [fields.map((field) => field.name), fields.map((field) => field.dataTypeID), fields.map((field) => field.dataTypeModifier ?? -1)] as const;

const callOf = (name: string, params: unknown[]) =>
  sql`SELECT * FROM ${SCHEMA}.${sql.identifier(name)}(${sql.join(
    params.map((param) => sql.param(param)),
    sql`, `,
  )})`;

type CallFailure = { kind: 'undefined' } | { kind: 'unfit'; message: string };

/**
 * Why calling functions failed without running their statements, if it did: one of `names` doesn't exist
 * yet, or can't serve its statement (UNFIT_FUNCTION). Any other failure is the statement's own.
 */
function callFailure(error: unknown, names: (string | undefined)[]): CallFailure | undefined {
  const failure = databaseFailure(error);
  if (failure?.code === UNDEFINED_FUNCTION && names.some((name) => name && failure.message.includes(name))) return { kind: 'undefined' };
  if (failure?.code && UNFIT_FUNCTION.has(failure.code)) return { kind: 'unfit', message: failure.message };
  return undefined;
}

/** After the statement sent as is answered `fields`: its function defined, or found unfit. */
async function afterSentAsIs(db: HttpDb, failure: CallFailure, name: string, text: string, fields: Field[]) {
  if (failure.kind === 'unfit') return sendAsIs(text, name, `its function failed: ${failure.message}`);
  // A type without columns can be made, but RETURN QUERY can't return a statement that answers none.
  if (!fields.length) return sendAsIs(text, name, 'it answers no columns');
  const [names, types, modifiers] = definedColumns(fields);
  try {
    await db.execute(
      sql`SELECT qaboard_statements.define_statement_function(${name}, ${text}, ${sql.param(names)}::text[], ${sql.param(types)}::oid[], ${sql.param(modifiers)}::int[])`,
    );
  } catch (error) {
    const failure = databaseFailure(error);
    // Only a refusal is for good: a database that didn't answer, a deadlock or a lock wait may not happen again.
    if (failure?.code && !failure.unavailable && !failure.conflict && failure.code !== LOCK_NOT_AVAILABLE) {
      sendAsIs(text, name, `its function could not be defined: ${failure.message}`);
    }
  }
}

/** The rows of one statement, sent over HTTP as its function's call. */
export async function functionRows<T>(db: HttpDb, query: SQL): Promise<T[]> {
  const statement = dialect.sqlToQuery(query);
  const name = await functionOf(statement);
  let failure: CallFailure | undefined;
  if (name) {
    try {
      return ((await db.execute(callOf(name, statement.params))) as unknown as FullResult).rows as T[];
    } catch (error) {
      failure = callFailure(error, [name]);
      if (!failure) throw error;
    }
  }
  const result = (await db.execute(query)) as unknown as FullResult;
  if (name && failure) await afterSentAsIs(db, failure, name, statement.sql, result.fields);
  return result.rows as T[];
}

/**
 * How a batch runs in Postgres. Reads (client.ts `readBatch`) must see one snapshot: one REPEATABLE READ
 * transaction (under READ COMMITTED each statement takes its own), READ ONLY. Writes (`writeBatch`): one
 * READ COMMITTED transaction, as the same statements would run one by one.
 */
export type BatchAccess = 'read' | 'write';
const BATCH_OPTIONS: Record<BatchAccess, Record<string, unknown>> = {
  read: { isolationLevel: 'RepeatableRead', readOnly: true },
  write: { isolationLevel: 'ReadCommitted', readOnly: false },
};

/** Sends compiled statements as one request of Neon's SQL over HTTP: one transaction, as `access` says. */
function sendBatch(db: HttpDb, statements: Array<{ sql: string; params: unknown[] }>, access: BatchAccess): Promise<FullResult[]> {
  // The driver's own batch: Drizzle's (`db.batch`) can't say that a batch writes. The caller made sure
  // that `db` is on Neon's HTTP session (client.ts `sendsBatchesTogether`), whose `client` is `neon()`'s.
  const { client } = (db as HttpDb & { _: { session: { client: NeonHttpClient } } })._.session;
  const queries = statements.map(({ sql: text, params }) => client.query(text, params, { arrayMode: false, fullResults: true }));
  return client.transaction(queries, BATCH_OPTIONS[access]);
}

/**
 * The rows of statements that don't depend on each other's answers, sent over HTTP as one request
 * (Neon's batch: one transaction, see `BatchAccess`) of their functions' calls.
 */
export async function functionBatch(db: HttpDb, queries: SQL[], access: BatchAccess = 'read'): Promise<unknown[][]> {
  const statements = queries.map((query) => dialect.sqlToQuery(query));
  const names = await Promise.all(statements.map(functionOf));
  let failure: CallFailure | undefined;
  try {
    const calls = statements.map((statement, i) => (names[i] ? dialect.sqlToQuery(callOf(names[i], statement.params)) : statement));
    return (await sendBatch(db, calls, access)).map((result) => result.rows);
  } catch (error) {
    failure = callFailure(error, names);
    if (!failure) throw error;
  }
  // The batch was rolled back whole. Which function failed it is not told: each is defined (again: no harm); when
  // one no longer fits, every statement of the batch goes as is from then on (its tables changed under the app: rare).
  const results = await sendBatch(db, statements, access);
  for (const [i, name] of names.entries()) if (name) await afterSentAsIs(db, failure, name, statements[i]!.sql, results[i]!.fields);
  return results.map((result) => result.rows);
}
