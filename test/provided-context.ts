/** Values the worker tests' global setup provides (`project.provide`) to the workerd pool options. */
declare module 'vitest' {
  export interface ProvidedContext {
    workerDatabaseUrl: string;
    neonWsProxy: string;
    fakeGitLabUrl: string;
    fakeGitLabToken: string;
  }
}
export {};
