/**
 * Writes the Worker's static assets folder (wrangler.jsonc `assets.directory`, not committed): the
 * Scalar bundle that `/api/docs` loads, copied from the pinned `@scalar/api-reference` package.
 * wrangler runs this before `dev`, `deploy` and `deploy --dry-run` (`build.command`); vitest.config.ts
 * runs it before the workerd tests. Unchanged files are left alone, so `wrangler dev` doesn't reload.
 *
 *   npx tsx scripts/worker-assets.ts
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SCALAR_BUNDLE_PATH } from '../src/lib/api-reference';
import { scalarBundleFile } from '../src/lib/api-reference-assets';

export const WORKER_ASSETS_DIR = fileURLToPath(new URL('../.cache/assets', import.meta.url));

export function writeWorkerAssets(): string {
  const source = scalarBundleFile();
  const target = path.join(WORKER_ASSETS_DIR, SCALAR_BUNDLE_PATH);
  if (!existsSync(target) || !readFileSync(source).equals(readFileSync(target))) {
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(source, target);
  }
  return target;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`worker assets: ${path.relative(process.cwd(), writeWorkerAssets())}`);
}
