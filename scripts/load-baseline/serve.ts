/**
 * Serves the baseline Worker (worker.js: it answers, and does nothing else) on `--port` with wrangler dev's
 * engine, as scripts/dev.ts runs the app's: what `npm run load -- --target baseline` drives, to tell the
 * memory the dev runtime takes by itself at a request rate from the app's own. Ends on SIGTERM or SIGINT.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { unstable_startWorker } from 'wrangler';

const { values } = parseArgs({ options: { port: { type: 'string', default: '8788' } } });
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
const worker = await unstable_startWorker({
  config: path.join(import.meta.dirname, 'wrangler.jsonc'),
  sendMetrics: false,
  dev: { server: { hostname: '127.0.0.1', port: Number(values.port) }, inspector: false, watch: false, persist: false },
});
await worker.ready;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void worker.dispose().finally(() => process.exit(0)));
