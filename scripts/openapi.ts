/**
 * The committed OpenAPI document, openapi/openapi.json, is what users generate clients from.
 * `--write` regenerates it from the app; `--check` fails when it differs from what the app serves
 * (CI: a route changed without the document); `--lint` validates it against the OpenAPI 3.1 schema
 * and checks what the schema can't: every operation has an id-worthy summary, tags and error responses.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { buildApp, OPENAPI_PATH } from '../src/app';
import { parseConfig } from '../src/config';
import type { Db } from '../src/db/client';
import { memoryRateLimiter } from '../src/lib/rate-limit';

export const DOCUMENT_FILE = new URL('../openapi/openapi.json', import.meta.url);

/** The document as the app serves it (no request reaches the database). */
export async function generatedDocument(): Promise<string> {
  const config = parseConfig({});
  const services = { db: undefined as unknown as Db, config, rateLimiter: memoryRateLimiter(1) };
  const response = await buildApp({ services: () => ({ services }) }).request(OPENAPI_PATH);
  if (response.status !== 200) throw new Error(`GET ${OPENAPI_PATH} answered ${response.status}`);
  return `${JSON.stringify(await response.json(), null, 2)}\n`;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Problems an OpenAPI schema validator doesn't see, but clients and the docs page do. */
export function contractProblems(document: { paths: Record<string, Record<string, Record<string, unknown>>> }): string[] {
  const problems: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const name = `${method.toUpperCase()} ${path}`;
      const responses = (operation.responses ?? {}) as Record<string, unknown>;
      if (!operation.summary) problems.push(`${name}: no summary`);
      if (!(operation.tags as unknown[] | undefined)?.length) problems.push(`${name}: no tags`);
      if (!Object.keys(responses).some((status) => /^2/.test(status))) problems.push(`${name}: no success response`);
      for (const status of ['400', '401', '429', '500']) if (!responses[status]) problems.push(`${name}: no ${status} response`);
    }
  }
  return problems;
}

export async function lintDocument(text: string): Promise<string[]> {
  const validator = new Validator();
  const result = await validator.validate(JSON.parse(text));
  const schemaErrors = result.valid ? [] : [`not valid OpenAPI ${validator.version}: ${JSON.stringify(result.errors, null, 2)}`];
  return [...schemaErrors, ...contractProblems(JSON.parse(text))];
}

async function main(mode: string | undefined) {
  if (mode === '--write') {
    writeFileSync(DOCUMENT_FILE, await generatedDocument());
    console.log(`wrote ${DOCUMENT_FILE.pathname}`);
  } else if (mode === '--check') {
    if (readFileSync(DOCUMENT_FILE, 'utf8') !== (await generatedDocument())) {
      console.error('openapi/openapi.json differs from the document the app generates: run `npm run openapi:write` and commit it.');
      process.exit(1);
    }
    console.log('openapi/openapi.json matches the app.');
  } else if (mode === '--lint') {
    const problems = await lintDocument(readFileSync(DOCUMENT_FILE, 'utf8'));
    if (problems.length) {
      console.error(problems.join('\n'));
      process.exit(1);
    }
    console.log('openapi/openapi.json is valid OpenAPI 3.1 and every operation is documented.');
  } else {
    console.error('usage: tsx scripts/openapi.ts --write | --check | --lint');
    process.exit(2);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv[2]);
