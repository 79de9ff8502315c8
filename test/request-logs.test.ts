/**
 * Logs an operator can use and a payload never leaks into: one structured line per request, and
 * for a failure the database's own error (SQLSTATE, message, constraint) — never the statement
 * or its parameters, which hold the whole upload.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { consoleLogger } from '../src/lib/logger';
import { stdoutLogger } from '../src/lib/stdout-logger';
import { memoryLogger, postJson, testApp } from './support/app';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { outputUpload } from './support/uploads';

describe.each(engineNames)('request logs on %s', (engine) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(engine);
    // A rule of the database an upload can break: a way to make an upload fail inside SQL.
    await database.db.execute(sql`
      CREATE FUNCTION refuse_exploding_outputs() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.platform = 'explode' THEN
          RAISE EXCEPTION 'outputs may not run on explode' USING ERRCODE = 'check_violation', CONSTRAINT = 'outputs_platform_check';
        END IF;
        RETURN NEW;
      END $$`);
    await database.db.execute(sql`CREATE TRIGGER refuse_exploding BEFORE INSERT ON outputs FOR EACH ROW EXECUTE FUNCTION refuse_exploding_outputs()`);
  });
  afterAll(() => database?.close());

  test('one line per request: method, path, status, duration, request id, caller', async () => {
    const logger = memoryLogger();
    const app = testApp(database.db, {}, { logger });
    await app.request('/api/v1/projects', { headers: { 'x-request-id': 'req-logs-1' } });
    await app.request('/api/v1/nothing-here');
    expect(logger.records).toHaveLength(2);
    expect(logger.records[0]).toEqual(
      expect.objectContaining({ level: 'info', method: 'GET', path: '/api/v1/projects', status: 200, request_id: 'req-logs-1', caller: 'anonymous' }),
    );
    expect(logger.records[0]!.duration_ms).toEqual(expect.any(Number));
    expect(logger.records[1]).toMatchObject({ level: 'warn', status: 404 });
  });

  test('a 900 KB upload that fails in SQL logs the database error and sizes — not the payload', async () => {
    const logger = memoryLogger();
    const app = testApp(database.db, {}, { logger });
    const marker = 'PAYLOAD-MARKER-';
    const upload = { ...outputUpload({ project: 'logs/explode' }), platform: 'explode', data: { padding: marker.repeat(60_000) } };
    const body = JSON.stringify(upload);
    const response = await postJson(app, '/api/v1/output/', body, { 'x-request-id': 'req-logs-2', 'content-length': String(Buffer.byteLength(body)) });
    expect(response.status).toBe(500);
    expect(logger.records).toHaveLength(1);
    const [record] = logger.records;
    expect(record).toMatchObject({
      level: 'error',
      status: 500,
      request_id: 'req-logs-2',
      db_error: { code: '23514', message: 'outputs may not run on explode', constraint: 'outputs_platform_check' },
    });
    expect(record!.request_bytes).toBeGreaterThan(900_000);
    const line = JSON.stringify(record);
    expect(line).not.toContain(marker);
    expect(line.length).toBeLessThan(2_000);
  });
});

test('the console logger writes each record as one JSON line', () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    consoleLogger.log('info', { method: 'GET', path: '/api/v1/projects', note: 'two\nlines' });
    expect(log).toHaveBeenCalledTimes(1);
    const line = log.mock.calls[0]![0] as string;
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toMatchObject({ level: 'info', method: 'GET', note: 'two\nlines', time: expect.any(String) });
  } finally {
    log.mockRestore();
  }
});

test("the Node entry's logger writes a turn's info lines at once, and a warning after them at once", async () => {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const logger = stdoutLogger();
    logger.log('info', { n: 1 });
    logger.log('info', { n: 2 });
    expect(out).not.toHaveBeenCalled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(out).toHaveBeenCalledTimes(1);
    expect((out.mock.calls[0]![0] as string).split('\n').filter(Boolean).map((line) => JSON.parse(line).n)).toEqual([1, 2]);
    logger.log('info', { n: 3 });
    logger.log('warn', { n: 4 });
    expect(out).toHaveBeenCalledTimes(2);
    expect(JSON.parse(out.mock.calls[1]![0] as string)).toMatchObject({ level: 'info', n: 3 });
    expect(JSON.parse(err.mock.calls[0]![0] as string)).toMatchObject({ level: 'warn', n: 4 });
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
});
