/**
 * A failed background job (queue message, in-process cron run) is logged like a failed request: the
 * database's own error, never the statement Drizzle wraps it in (which may hold a whole upload).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { logJobFailure } from '../src/jobs/job-queue';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';

describe.each(engineNames)('job failure logs on %s', (engine) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(engine);
  });
  afterAll(() => database?.close());

  test('name the database error, not the SQL', async () => {
    const failure = await database.db.execute(sql`SELECT 'secret upload' FROM no_such_table`).catch((error: unknown) => error);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      logJobFailure('qaboard-gitlab', 2, failure);
      const line = String(warn.mock.calls[0]?.[0]);
      expect(JSON.parse(line)).toMatchObject({ level: 'warn', queue: 'qaboard-gitlab', attempts: 2, db_error: { code: '42P01' } });
      expect(line).toContain('no_such_table');
      expect(line).not.toContain('secret upload');
    } finally {
      warn.mockRestore();
    }
  });
});
