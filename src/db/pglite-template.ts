/**
 * A new PGlite database starts from a pre-built data folder instead of running initdb.
 *
 * PGlite's initdb is Postgres' bootstrap run in WebAssembly by a second, throw-away PGlite instance:
 * 3–7 s and a peak of ~900 MB RSS on our 2-core machines, most of a first start's time and all of its
 * memory peak; the first migrations then add ~1.5 s and ~70 MB. Their output is the same for every
 * database of a given PGlite build (locale C.UTF-8, UTC, trust auth, all fixed by PGlite), so
 * `npm run db:pglite-template` runs both once and stores the folder as a brotli tar (~1.4 MB) in
 * `src/db/pglite-template/<PGlite version>.tar.br`. PGlite does the same internally — initdb in a
 * scratch instance, then the folder copied in as a tar — we only do it ahead of time. Migrations newer
 * than the template are applied at start as usual; a PGlite version without a template falls back to
 * PGlite's own initdb.
 */
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { brotliDecompressSync, createBrotliDecompress } from 'node:zlib';
import { extractTar } from './tar';

/** The installed PGlite's version (its package.json is not exported, so found beside its entry). */
export function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  for (let dir = path.dirname(entry); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
    if (pkg.name === '@electric-sql/pglite') return pkg.version;
  }
  throw new Error('the package.json of @electric-sql/pglite was not found');
}

export const templateFile = (repoRoot: string, version = pgliteVersion()) =>
  path.join(repoRoot, 'src', 'db', 'pglite-template', `${version}.tar.br`);

/** The template as an uncompressed tar (PGlite's `loadDataDir` format), if one exists for this PGlite. */
export function readTemplateTar(repoRoot: string): Uint8Array | undefined {
  const file = templateFile(repoRoot);
  return existsSync(file) ? new Uint8Array(brotliDecompressSync(readFileSync(file))) : undefined;
}

/**
 * Creates `dataDir` (absent or empty) from the template; false when there is none for this PGlite or
 * the folder holds something else (then PGlite's own initdb decides). Streamed (the tar is 40 MB), and
 * written beside the folder then renamed into place, so an interrupted copy never looks like a database.
 */
export async function createDataFolderFromTemplate(repoRoot: string, dataDir: string): Promise<boolean> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return false;
  const file = templateFile(repoRoot);
  if (!existsSync(file)) return false;
  const partial = `${dataDir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true, mode: 0o700 });
  await extractTar(createReadStream(file).pipe(createBrotliDecompress()), partial);
  await rm(dataDir, { recursive: true, force: true }); // empty, checked above
  await rename(partial, dataDir);
  return true;
}
