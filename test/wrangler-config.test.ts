/**
 * wrangler.jsonc configures what the code also names — cron schedules, queues and their retry
 * budgets, rate-limit periods. A change on one side only would fail in production (a cron the
 * scheduled handler doesn't know throws): these tests hold both sides together.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { GITLAB_MAX_RETRIES, GITLAB_QUEUE } from '../src/gitlab/jobs';
import { RUN_REQUESTS_MAX_RETRIES, RUN_REQUESTS_QUEUE } from '../src/gitlab/run-request-jobs';
import { VERDICT_MAX_RETRIES, VERDICT_QUEUE } from '../src/gitlab/verdict-job';
import { MAINTENANCE_QUEUE } from '../src/maintenance/backup-chain';
import { DAILY_BACKUP_CRON, HOURLY_CLEANUP_CRON } from '../src/maintenance/scheduled-jobs';
import { RATE_LIMIT_PERIOD_SECONDS } from '../src/lib/rate-limit';

interface WranglerConfig {
  compatibility_flags?: string[];
  triggers: { crons: string[] };
  ratelimits: { name: string; simple: { limit: number; period: number } }[];
  queues: {
    producers: { binding: string; queue: string }[];
    consumers: { queue: string; max_retries: number; max_concurrency?: number; dead_letter_queue?: string }[];
  };
}

const path = new URL('../wrangler.jsonc', import.meta.url).pathname;
const { config, error } = ts.parseConfigFileTextToJson(path, readFileSync(path, 'utf8'));
const wrangler = config as WranglerConfig;

describe('wrangler.jsonc and the code agree', () => {
  test('parses', () => expect(error).toBeUndefined());

  test('every cron trigger has a job, and every job a trigger', () => {
    expect([...wrangler.triggers.crons].sort()).toEqual([DAILY_BACKUP_CRON, HOURLY_CLEANUP_CRON].sort());
  });

  test('the GitLab consumer retries as often as the Node entry’s in-process queue, then dead-letters', () => {
    const consumer = wrangler.queues.consumers.find((c) => c.queue === GITLAB_QUEUE);
    expect(consumer).toMatchObject({ max_retries: GITLAB_MAX_RETRIES, dead_letter_queue: expect.any(String) });
  });

  test('the run-request consumer retries as often as the code counts before failing a request', () => {
    const consumer = wrangler.queues.consumers.find((c) => c.queue === RUN_REQUESTS_QUEUE);
    expect(consumer).toMatchObject({ max_retries: RUN_REQUESTS_MAX_RETRIES, dead_letter_queue: expect.any(String) });
  });

  test('the verdict consumer retries as often as the in-process queue, one delivery at a time (no duplicate notes)', () => {
    const consumer = wrangler.queues.consumers.find((c) => c.queue === VERDICT_QUEUE);
    expect(consumer).toMatchObject({ max_retries: VERDICT_MAX_RETRIES, max_concurrency: 1, dead_letter_queue: expect.any(String) });
  });

  test('every queue the code consumes has a consumer with a dead-letter queue, and a producer', () => {
    for (const queue of [GITLAB_QUEUE, RUN_REQUESTS_QUEUE, VERDICT_QUEUE, MAINTENANCE_QUEUE]) {
      expect(wrangler.queues.consumers.find((c) => c.queue === queue)?.dead_letter_queue, queue).toEqual(expect.any(String));
      expect(wrangler.queues.producers.some((p) => p.queue === queue), queue).toBe(true);
    }
  });

  test('every rate limit binding has the period the Worker advises in Retry-After', () => {
    expect(wrangler.ratelimits.map((r) => r.name).sort()).toEqual(['AUTH_FAILURE_LIMITER', 'RATE_LIMITER']);
    for (const limit of wrangler.ratelimits) expect(limit.simple.period, limit.name).toBe(RATE_LIMIT_PERIOD_SECONDS);
  });

  test('the Worker needs no Node.js compatibility layer', () => {
    expect(wrangler.compatibility_flags ?? []).not.toContain('nodejs_compat');
  });
});
