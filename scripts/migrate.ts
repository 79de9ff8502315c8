/**
 * Applies the drizzle-kit migrations in drizzle/ to DATABASE_URL (for Neon: the direct host, not
 * the `-pooler` one). The Node entry and the tests apply them by themselves.
 *
 *   DATABASE_URL=postgres://… npm run db:migrate
 */
import { parseConfig } from '../src/config';
import { connectNodeDatabase } from '../src/db/connect-node';
import { NODE_DEFAULTS } from '../src/node-app';

const { databaseUrl } = parseConfig(process.env, NODE_DEFAULTS);
if (!databaseUrl) {
  console.error('DATABASE_URL is required');
  process.exit(2);
}
const database = await connectNodeDatabase({ kind: 'postgres', url: databaseUrl });
await database.close();
console.log(`migrations applied to ${database.description}`);
