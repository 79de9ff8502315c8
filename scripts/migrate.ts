/**
 * Applies the drizzle-kit migrations in drizzle/ to DATABASE_URL (for Neon: the direct host, not
 * the `-pooler` one). The Node entry and the tests apply them by themselves.
 *
 *   DATABASE_URL=postgres://… npm run db:migrate
 */
import { connectNodeDatabase } from '../src/db/connect-node';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required');
  process.exit(2);
}
const database = await connectNodeDatabase({ kind: 'postgres', url });
await database.close();
console.log(`migrations applied to ${database.description}`);
