/**
 * The QA-Board data model (same tables as the original Flask backend), with the identities
 * the original left to application code enforced by unique indexes, so that concurrent
 * uploads can rely on INSERT … ON CONFLICT instead of racy "select, then insert".
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  integer,
  index,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

type Json = Record<string, unknown>;
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

export const projects = pgTable('projects', {
  /** Path-like id: `group/repo`, or `group/repo/sub/dir` for a monorepo sub-project. */
  id: text('id').primaryKey(),
  /** `git` (GitLab project info), `qatools_config`, `qatools_metrics`, `milestones`. */
  data: jsonb('data').$type<Json>().notNull().default({}),
  latestOutputDatetime: timestamptz('latest_output_datetime'),
});

export const ciCommits = pgTable(
  'ci_commits',
  {
    id: serial('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    hexsha: text('hexsha').notNull(),
    authoredDatetime: timestamptz('authored_datetime').notNull(),
    committerName: text('committer_name'),
    /** The GitLab avatar of the commit's author, when GitLab knows them (an URL on the GitLab host). */
    committerAvatarUrl: text('committer_avatar_url'),
    message: text('message'),
    /** The first branch the commit was seen on. */
    branch: text('branch'),
    parents: jsonb('parents').$type<string[]>(),
    /** Per-commit `qatools_config` / `qatools_metrics`, and free metadata from clients. */
    data: jsonb('data').$type<Json>().notNull().default({}),
    commitDirOverride: text('commit_dir_override'),
    commitType: text('commit_type').notNull().default('git'),
    latestOutputDatetime: timestamptz('latest_output_datetime'),
    deleted: boolean('deleted').notNull().default(false),
  },
  (t) => [
    uniqueIndex('ci_commits_project_hexsha').on(t.projectId, t.hexsha),
    index('ci_commits_project_authored').on(t.projectId, t.authoredDatetime.desc()),
    index('ci_commits_project_branch').on(t.projectId, t.branch, t.authoredDatetime.desc()),
  ],
);

export const batches = pgTable(
  'batches',
  {
    id: serial('id').primaryKey(),
    ciCommitId: integer('ci_commit_id')
      .notNull()
      .references(() => ciCommits.id, { onDelete: 'cascade' }),
    label: text('label').notNull().default('default'),
    createdDate: timestamptz('created_date').notNull().defaultNow(),
    /** Commands, `qa optimize` iterations, config overrides. */
    data: jsonb('data').$type<Json>().notNull().default({}),
    batchDirOverride: text('batch_dir_override'),
    /**
     * Set while a verdict job for the batch waits in the queue (domain/batches/verdict-requests.ts):
     * uploads finishing the batch meanwhile need no job of their own.
     */
    verdictRequestedAt: timestamptz('verdict_requested_at'),
  },
  (t) => [uniqueIndex('batches_commit_label').on(t.ciCommitId, t.label)],
);

/**
 * The inputs a project's outputs ran on, and their metadata. An input belongs to one project:
 * two projects naming the same (database, path) each have their own row and metadata.
 * `project_id` is NULL only for inputs no output used when inputs became per-project (migration 0003).
 */
export const testInputs = pgTable(
  'test_inputs',
  {
    id: serial('id').primaryKey(),
    projectId: text('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    database: text('database').notNull(),
    /** Relative to `database`. */
    path: text('path').notNull(),
    data: jsonb('data').$type<Json>().notNull().default({}),
    /**
     * Last time an upload changed the test input's data (its metadata): a commit's outputs, as
     * read/commit-details.ts keeps them rendered, show it.
     */
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('test_inputs_project_database_path').on(t.projectId, t.database, t.path)],
);

export const outputs = pgTable(
  'outputs',
  {
    id: serial('id').primaryKey(),
    batchId: integer('batch_id')
      .notNull()
      .references(() => batches.id, { onDelete: 'cascade' }),
    testInputId: integer('test_input_id')
      .notNull()
      .references(() => testInputs.id),
    createdDate: timestamptz('created_date').notNull().defaultNow(),
    outputType: text('output_type').notNull().default(''),
    platform: text('platform').notNull(),
    configurations: jsonb('configurations').$type<unknown[]>().notNull().default([]),
    extraParameters: jsonb('extra_parameters').$type<Json>().notNull().default({}),
    isPending: boolean('is_pending').notNull().default(false),
    isRunning: boolean('is_running').notNull().default(false),
    isFailed: boolean('is_failed').notNull().default(false),
    metrics: jsonb('metrics').$type<Json>().notNull().default({}),
    data: jsonb('data').$type<Json>().notNull().default({}),
    outputDirOverride: text('output_dir_override'),
    deleted: boolean('deleted').notNull().default(false),
    /** Last time an upload (or a job such as the stale-run reaper) changed the output. */
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // The identity of a run. JSONB values can exceed a btree entry, so the index holds digests of
    // their canonical text (jsonb output is normalised: key order and whitespace don't matter).
    uniqueIndex('outputs_identity').on(
      t.batchId,
      t.testInputId,
      t.platform,
      sql`md5(${t.configurations}::text)`,
      sql`md5(${t.extraParameters}::text)`,
    ),
    index('outputs_test_input').on(t.testInputId),
    // Per-batch counts and the aggregate cache's fingerprint (domain/read/) read this index alone
    // (an index-only scan: Drizzle can't declare INCLUDE columns, so they are key columns).
    index('outputs_batch_summary').on(t.batchId, t.isFailed, t.isPending, t.isRunning, t.deleted, t.updatedAt),
    // Few outputs are pending at a time: "does this batch still run anything?" (batch completion,
    // stop) reads this small index instead of the batch's outputs.
    index('outputs_pending').on(t.batchId).where(sql`${t.isPending}`),
  ],
);

/**
 * A cache of aggregated metrics per batch (see src/domain/read/metric-aggregates.ts): valid only
 * while `outputs_fingerprint` matches the batch's outputs. Safe to truncate at any time.
 */
export const batchMetricAggregates = pgTable(
  'batch_metric_aggregates',
  {
    batchId: integer('batch_id')
      .notNull()
      .references(() => batches.id, { onDelete: 'cascade' }),
    metric: text('metric').notNull(),
    outputsFingerprint: text('outputs_fingerprint').notNull(),
    median: doublePrecision('median'),
    average: doublePrecision('average'),
  },
  (t) => [primaryKey({ columns: [t.batchId, t.metric] })],
);

/**
 * API tokens (see src/auth/): only the SHA-256 digest of the plaintext is kept; the plaintext is
 * shown once, at creation. A revoked token stays listed (who had access, until when).
 * Properties are named as the columns — and as the API's fields: the tokens API is derived from this table.
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    /** Hex SHA-256 of the plaintext token. */
    digest: text('digest').notNull(),
    /** `read`, `write`, `admin`. */
    scopes: jsonb('scopes').$type<string[]>().notNull(),
    /** When set, the token only reaches projects whose id is this prefix or lies under it. */
    project_prefix: text('project_prefix'),
    created_at: timestamptz('created_at').notNull().defaultNow(),
    revoked_at: timestamptz('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_digest').on(t.digest)],
);

/**
 * `Idempotency-Key`s of POST ingestion requests (see src/lib/idempotency.ts), per caller. A row
 * without a response is in flight. Keys expire after 24 h.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** Who sent it: `token:<id>`, or `anonymous` (the qa CLI in open mode). */
    caller: text('caller').notNull(),
    key: text('key').notNull(),
    /** SHA-256 of method, path and body: the same key with another payload is refused. */
    requestDigest: text('request_digest').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    /** While the request runs it renews this lease; past it, an unanswered claim is abandoned. */
    leaseExpiresAt: timestamptz('lease_expires_at').notNull().defaultNow(),
    responseStatus: integer('response_status'),
    responseContentType: text('response_content_type'),
    responseBody: text('response_body'),
  },
  (t) => [primaryKey({ columns: [t.caller, t.key] }), index('idempotency_keys_created').on(t.createdAt)],
);

/**
 * What became of uploads acknowledged with a receipt (202) instead of written at once — spooled
 * while the database was unavailable, or sent in bulk: one row per written chunk of a receipt,
 * in the same transaction as the chunk's outputs, so a redelivered chunk is recorded once.
 * No row yet: still queued. Properties named as the columns (`GET /api/v1/ingestions/:id` serves them).
 */
export const ingestionChunks = pgTable(
  'ingestion_chunks',
  {
    ingestion_id: text('ingestion_id').notNull(),
    chunk: integer('chunk').notNull(),
    /** Uploads under the receipt, all chunks together. */
    total: integer('total').notNull(),
    /** Uploads of this chunk. */
    items: integer('items').notNull(),
    /** `[{item, error}]`: uploads of this chunk that could not be written, by index within the receipt. */
    errors: jsonb('errors').$type<{ item: number; error: string }[]>().notNull().default([]),
    project_ids: jsonb('project_ids').$type<string[]>().notNull(),
    written_at: timestamptz('written_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.ingestion_id, t.chunk] }), index('ingestion_chunks_written').on(t.written_at)],
);

/**
 * The outbox of R2 deletions and moves (maintenance/file-deletions.ts): the statement that deletes
 * outputs or batches records the prefixes it emptied here, and the one that moves outputs to another
 * batch the prefixes their files leave, so a change committed is never forgotten — a queue send that
 * fails, a Worker stopped mid-request, leave the row for the next drain. A drain deletes (or copies,
 * then deletes) the objects, then the row. Properties named as the columns.
 */
export const fileDeletions = pgTable(
  'file_deletions',
  {
    id: serial('id').primaryKey(),
    /** `<project>/<commit>/<batch>/[<output>/]`, with its trailing slash. */
    prefix: text('prefix').notNull(),
    /** Only the files whose path inside the output matches this fnmatch pattern (the web app's `filter`); NULL: every file. */
    pattern: text('pattern'),
    /** A move: each object under `prefix` goes to the same path under this (`<project>/<commit>/<batch>/<output>/`). NULL: a deletion. */
    move_to: text('move_to'),
    /** Files uploaded after this (a redone output's) are kept. */
    requested_at: timestamptz('requested_at').notNull().defaultNow(),
  },
  (t) => [index('file_deletions_requested').on(t.requested_at)],
);

/**
 * People who sign in to the web app (see src/auth/): local users with a password, and GitLab users.
 * A local user's access is set like an API token's (`scopes`, `project_prefix`); a GitLab user's
 * comes from their GitLab memberships, cached per session. Properties are named as the columns —
 * and as the v1 API's fields where it serves them.
 */
export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    /** What a local user signs in with; a GitLab user's GitLab username (kept current at each sign-in). */
    user_name: text('user_name').notNull(),
    full_name: text('full_name').notNull().default(''),
    email: text('email'),
    /** Local users: a PBKDF2 hash with its parameters (src/auth/passwords.ts). GitLab users: null. */
    password_hash: text('password_hash'),
    /** GitLab users: their id on the configured GitLab. */
    gitlab_id: integer('gitlab_id'),
    avatar_url: text('avatar_url'),
    /** Local users: `read`, `write`, `admin`, on projects under `project_prefix` (null: all). */
    scopes: jsonb('scopes').$type<string[]>().notNull().default([]),
    project_prefix: text('project_prefix'),
    created_at: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_gitlab_id').on(t.gitlab_id),
    // Local names and emails are unique whatever their case; GitLab users live in GitLab's namespace.
    uniqueIndex('users_local_user_name').on(sql`lower(${t.user_name})`).where(sql`${t.gitlab_id} IS NULL`),
    uniqueIndex('users_local_email').on(sql`lower(${t.email})`).where(sql`${t.gitlab_id} IS NULL`),
  ],
);

/**
 * Web-app sessions: the cookie holds a random secret, the table its SHA-256 digest. GitLab
 * sessions also keep the user's GitLab OAuth tokens — encrypted under a key derived from the
 * cookie's secret, so the table alone opens nothing — and the grants their memberships give.
 */
export const sessions = pgTable(
  'sessions',
  {
    /** Hex SHA-256 of the cookie's secret. */
    digest: text('digest').primaryKey(),
    user_id: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    created_at: timestamptz('created_at').notNull().defaultNow(),
    last_seen_at: timestamptz('last_seen_at').notNull().defaultNow(),
    /** Slides forward with use, never past `created_at` + the maximum lifetime. */
    expires_at: timestamptz('expires_at').notNull(),
    user_agent: text('user_agent'),
    /** AES-GCM ciphertext of the GitLab OAuth tokens (src/auth/session-secrets.ts). */
    gitlab_tokens: text('gitlab_tokens'),
    /** GitLab sessions: the grants of the user's memberships (`projectPrefix`, `scopes`), as last fetched. */
    grants: jsonb('grants').$type<{ projectPrefix: string | null; scopes: string[] }[]>(),
    grants_fetched_at: timestamptz('grants_fetched_at'),
    /** When the grants are next refreshed; one request claims the refresh by moving it forward. */
    grants_refresh_after: timestamptz('grants_refresh_after'),
  },
  (t) => [index('sessions_user').on(t.user_id), index('sessions_expires').on(t.expires_at)],
);

/** Failed sign-ins per user name and per client address, for lockout with exponential backoff. */
export const signInFailures = pgTable('sign_in_failures', {
  /** `pair:<address key>|<lower-cased name>`, `address:<address key>`, `user:<lower-cased name>`; `attempts:<address key>` counts a minute's attempts (see auth/sign-in-throttle.ts). */
  subject: text('subject').primaryKey(),
  failures: integer('failures').notNull(),
  lastFailureAt: timestamptz('last_failure_at').notNull(),
  lockedUntil: timestamptz('locked_until'),
});

/**
 * Named YAML documents of test groups per project (the web app's "Groups of tests": `extra-batches`,
 * and one per user), kept verbatim — comments and all — as the original kept them in files.
 * Properties are named as the columns: the API serves rows as they are.
 */
export const testGroups = pgTable(
  'test_groups',
  {
    project_id: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    yaml: text('yaml').notNull(),
    updated_at: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.project_id, t.name] })],
);

/** `('a', 'b')` for a CHECK constraint: inlined, since DDL takes no parameters. */
const sqlList = (values: readonly string[]) => sql.raw(`(${values.map((v) => `'${v}'`).join(', ')})`);

export const RUN_REQUEST_KINDS = ['tuning', 'redo-batch', 'redo-output', 'save-artifacts'] as const;
export const RUN_REQUEST_STATUSES = ['queued', 'dispatched', 'running', 'done', 'failed', 'cancelled'] as const;

/**
 * Runs asked for from the web app (tuning, redo, save-artifacts), dispatched to CI as GitLab
 * pipelines and tracked to the end: queued → dispatched → running → done | failed | cancelled
 * (see src/domain/run-requests/). Properties are named as the columns: the API serves rows as they are.
 */
export const runRequests = pgTable(
  'run_requests',
  {
    id: serial('id').primaryKey(),
    kind: text('kind', { enum: RUN_REQUEST_KINDS }).notNull(),
    project_id: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    ci_commit_id: integer('ci_commit_id')
      .notNull()
      .references(() => ciCommits.id, { onDelete: 'cascade' }),
    /** The batch the runs report to (tuning creates it); NULL for save-artifacts, or once the batch is deleted. */
    batch_id: integer('batch_id').references(() => batches.id, { onDelete: 'set null' }),
    batch_label: text('batch_label'),
    /** What was asked: the tuning form's fields, redo's selection. */
    parameters: jsonb('parameters').$type<Record<string, unknown>>().notNull().default({}),
    /** The caller that asked: `token:<id>`, `admin:bootstrap`, `anonymous`. */
    requested_by: text('requested_by').notNull(),
    status: text('status', { enum: RUN_REQUEST_STATUSES }).notNull().default('queued'),
    /**
     * The `QA_BATCH_COMMAND_ID` the pipeline runs `qa batch` with: the qa CLI reports it with the
     * batch and its outputs, which is how uploads are recognised as this request's.
     */
    command_id: text('command_id').notNull(),
    pipeline_id: bigint('pipeline_id', { mode: 'number' }),
    pipeline_url: text('pipeline_url'),
    /** Why it failed (GitLab's answer), or what went wrong cancelling its pipeline. */
    error: text('error'),
    created_at: timestamptz('created_at').notNull().defaultNow(),
    updated_at: timestamptz('updated_at').notNull().defaultNow(),
    dispatched_at: timestamptz('dispatched_at'),
    started_at: timestamptz('started_at'),
    finished_at: timestamptz('finished_at'),
  },
  (t) => [
    uniqueIndex('run_requests_command_id').on(t.command_id),
    index('run_requests_project_created').on(t.project_id, t.created_at.desc()),
    index('run_requests_batch').on(t.batch_id),
    check('run_requests_kind', sql`${t.kind} IN ${sqlList(RUN_REQUEST_KINDS)}`),
    check('run_requests_status', sql`${t.status} IN ${sqlList(RUN_REQUEST_STATUSES)}`),
  ],
);
