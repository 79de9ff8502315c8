/** Values the worker tests' global setup provides (`project.provide`) to the workerd pool options. */
declare module 'vitest' {
  export interface ProvidedContext {
    workerDatabaseUrl: string;
    neonWsProxy: string;
    fakeGitLabUrl: string;
    fakeGitLabToken: string;
    fakeGitLabOAuthClient: { id: string; secret: string };
    /** The fake GitLab's CI id_token signing key (JSON of a SigningKey), for tests that sign tokens inside workerd. */
    ciSigningKey: string;
  }
}
export {};
