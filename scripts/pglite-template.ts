/**
 * Builds the data folder a new embedded database starts from (src/db/pglite-template.ts): PGlite's
 * initdb and the migrations of drizzle/, run once here rather than at every first start. Run it on
 * main after upgrading @electric-sql/pglite (a test fails until you do) and, optionally, after adding
 * migrations (newer ones are applied at start anyway); commit the file it writes.
 *
 *   npm run db:pglite-template
 */
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { constants, brotliCompressSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { MIGRATIONS_FOLDER, REPO_ROOT } from '../src/db/connect-node';
import { templateFile } from '../src/db/pglite-template';
import { packTar, type TarEntry } from '../src/db/tar';

const scratch = await mkdtemp(path.join(tmpdir(), 'qaboard-pglite-template-'));
try {
  const dataDir = path.join(scratch, 'pglite');
  const pglite = await PGlite.create(dataDir); // initdb
  await migrate(drizzle({ client: pglite }), { migrationsFolder: MIGRATIONS_FOLDER });
  await pglite.exec('VACUUM (FREEZE, ANALYZE)'); // as a long-lived database would be: no first-write hint-bit churn
  await pglite.close(); // a clean shutdown: checkpointed, no postmaster.pid left
  const entries: TarEntry[] = [];
  for (const entry of (await readdir(dataDir, { recursive: true, withFileTypes: true })).sort((a, b) =>
    path.join(a.parentPath, a.name).localeCompare(path.join(b.parentPath, b.name)),
  )) {
    const file = path.join(entry.parentPath, entry.name);
    const name = path.relative(dataDir, file).split(path.sep).join('/');
    entries.push(entry.isDirectory() ? { name } : { name, data: new Uint8Array(await readFile(file)) });
  }
  const tar = packTar(entries);
  // Brotli's largest window finds the three identical database copies initdb makes: 40 MB → ~1.4 MB.
  const compressed = brotliCompressSync(tar, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: tar.length },
  });
  const target = templateFile(REPO_ROOT);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, compressed);
  console.log(`wrote ${path.relative(REPO_ROOT, target)}: ${entries.length} entries, ${tar.length} bytes, ${compressed.length} compressed`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
