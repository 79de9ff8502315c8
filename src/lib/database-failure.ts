/**
 * What a failed database call tells the operator and the client, read off any driver's error
 * (node-postgres, Neon over WebSocket or HTTP, PGlite) without importing one. Drizzle wraps driver
 * errors in one whose message holds the whole statement and its parameters (uploads: up to a MB):
 * only the driver error's own fields are kept, never that message.
 */
import type { LogRecord } from './logger';

export interface DatabaseFailure {
  /** SQLSTATE (`23505`), or the socket error code (`ECONNREFUSED`). */
  code?: string;
  message: string;
  constraint?: string;
  table?: string;
  column?: string;
  /** The database can't be reached or didn't answer in time: worth a retry later (503), not a bug (500). */
  unavailable: boolean;
  /**
   * Postgres aborted the statement because of a concurrent transaction (a deadlock victim, a
   * serialization failure): nothing was wrong with it, and the same statement run again succeeds.
   */
  conflict: boolean;
}

/** SQLSTATE classes and codes that mean "not now" rather than "wrong": connection, shutdown, overload, timeout. */
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57P0[123]|57014)$/;
/** Deadlock detected, serialization failure. */
const CONFLICT_SQLSTATE = /^40(P01|001)$/;
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
/**
 * node-postgres and the Neon driver say these in words, without a code. Over SQL over HTTP, Neon answers
 * 400 with Postgres's error fields; any other status the driver reports as `Server error (HTTP status N)`:
 * a 5xx is Neon unable to reach or run the database (the local endpoint's answer to a refused connection).
 */
const UNAVAILABLE_MESSAGES =
  /connection terminated|timeout exceeded when trying to connect|query read timeout|not queryable|connection (error|refused|timeout)|websocket|error connecting to database|database is not ready|server error \(http status 5\d\d\)/i;

interface DriverError {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
  cause?: unknown;
  /** Drizzle's wrapper carries the statement: its message is not the database's. */
  query?: unknown;
}

const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);

/** The driver error behind `error` (following `cause`), or undefined when it isn't a database failure. */
export function databaseFailure(error: unknown): DatabaseFailure | undefined {
  for (let current = error as DriverError | undefined, depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    if (current.query !== undefined && current.cause) {
      current = current.cause as DriverError;
      continue;
    }
    const code = text(current.code);
    const message = text(current.message) ?? '';
    const isSqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code);
    const unavailable =
      (isSqlState && UNAVAILABLE_SQLSTATE.test(code)) ||
      (code !== undefined && UNAVAILABLE_SOCKET_CODES.has(code)) ||
      UNAVAILABLE_MESSAGES.test(message);
    if (isSqlState || unavailable) {
      const conflict = isSqlState && CONFLICT_SQLSTATE.test(code);
      return { code, message, constraint: text(current.constraint), table: text(current.table), column: text(current.column), unavailable, conflict };
    }
    current = current.cause as DriverError | undefined;
  }
  return undefined;
}

// Drizzle's wrapper (it has `query`) holds the statement and its parameters in its message: what it wraps is told instead.
const unwrapped = (error: unknown) => (error instanceof Error && 'query' in error ? error.cause : error);

/** A failure's log fields: the database's own error, else the exception — what Drizzle wraps, never its statement. */
export function describeFailure(error: unknown): LogRecord {
  const database = databaseFailure(error);
  if (database) return { db_error: database };
  const cause = unwrapped(error);
  return cause instanceof Error ? { error: `${cause.name}: ${cause.message}`, stack: cause.stack } : { error: String(cause) };
}

/** A failure in one line: the database's message, else the exception's — never a statement or its parameters. */
export function failureMessage(error: unknown): string {
  const database = databaseFailure(error);
  if (database) return database.message;
  const cause = unwrapped(error);
  return cause instanceof Error ? cause.message : String(cause);
}
