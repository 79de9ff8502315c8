/** Values the worker tests' global setup provides (`project.provide`) to the workerd pool options. */
declare module 'vitest' {
  export interface ProvidedContext {
    workerDatabaseUrl: string;
    workerDatabaseEngine: 'postgres' | 'pglite';
    /** The same database as a Hyperdrive local connection string (it must carry a password: trust auth ignores it). */
    workerHyperdriveUrl: string;
    neonWsProxy: string;
    /** A second proxy in front of the same database, used by test/worker/connection-modes.test.ts alone: its counts are that file's. */
    countingNeonProxy: string;
    fakeGitLabUrl: string;
    fakeGitLabToken: string;
    fakeGitLabOAuthClient: { id: string; secret: string };
    /** The fake GitLab's CI id_token signing key (JSON of a SigningKey), for tests that sign tokens inside workerd. */
    ciSigningKey: string;
  }
}
export {};
