/** The bootstrap admin token the workerd tests' Worker is configured with (vitest.config.ts). */
export const WORKER_TEST_ADMIN_TOKEN = 'worker-test-admin-token-0123456789';
export const ADMIN_JSON = { 'content-type': 'application/json', authorization: `Bearer ${WORKER_TEST_ADMIN_TOKEN}` };
