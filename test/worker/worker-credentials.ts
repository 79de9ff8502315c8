/** The bootstrap admin token the workerd tests' Worker is configured with (vitest.config.ts). */
export const WORKER_TEST_ADMIN_TOKEN = 'worker-test-admin-token-0123456789';
export const ADMIN_JSON = { 'content-type': 'application/json', authorization: `Bearer ${WORKER_TEST_ADMIN_TOKEN}` };
/** The key of signed file URLs (FILES_URL_SECRET) of the workerd tests' Worker. */
export const WORKER_TEST_FILE_URL_SECRET = 'worker-test-file-url-secret-0123456789abcdef';
