/**
 * The committed OpenAPI document, openapi/openapi.json, is what users generate clients from.
 * `--write` regenerates it from the app; `--check` fails when it differs from what the app serves
 * (CI: a route changed without the document); `--lint` validates it against the OpenAPI 3.1 schema
 * and checks what the schema can't (see `contractProblems`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { OPENAPI_PATH } from '../src/app';
import { parseConfig } from '../src/config';
import type { Db } from '../src/db/client';
import { quietLogger } from '../src/lib/logger';
import { NODE_DEFAULTS, nodeApp } from '../src/node-app';

export const DOCUMENT_FILE = new URL('../openapi/openapi.json', import.meta.url);

/** The document as the app serves it (no request reaches the database). */
export async function generatedDocument(): Promise<string> {
  const app = nodeApp(undefined as unknown as Db, parseConfig({}, NODE_DEFAULTS), { logger: quietLogger });
  const response = await app.request(OPENAPI_PATH);
  if (response.status !== 200) throw new Error(`GET ${OPENAPI_PATH} answered ${response.status}`);
  return `${JSON.stringify(await response.json(), null, 2)}\n`;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

type Json = Record<string, unknown>;

/** A schema (following `$ref`s into components) or its items/values carries an example. */
function hasExample(document: Json, schema: Json | undefined, depth = 0): boolean {
  if (!schema || depth > 8) return false;
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop()!;
    return hasExample(document, ((document.components as Json)?.schemas as Json)?.[name] as Json, depth + 1);
  }
  if (schema.example !== undefined || schema.examples !== undefined) return true;
  const nested = [schema.items, schema.additionalProperties, ...((schema.anyOf ?? schema.oneOf ?? schema.allOf ?? []) as unknown[])];
  return nested.some((child) => typeof child === 'object' && child !== null && hasExample(document, child as Json, depth + 1));
}

/** The JSON media types of a request body or response, with their schemas. */
const jsonMedia = (content: unknown) =>
  Object.entries((content ?? {}) as Record<string, Json>).filter(([type]) => /json$/.test(type) && !/problem\+json$/.test(type));

/**
 * Problems an OpenAPI schema validator doesn't see, but client generators and the docs page do:
 * every operation has an operationId (generated clients name their methods after it), a summary,
 * a description, tags, a success and the shared error responses, and examples for its JSON bodies.
 */
export function contractProblems(document: { paths: Record<string, Record<string, Record<string, unknown>>> }): string[] {
  const problems: string[] = [];
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const name = `${method.toUpperCase()} ${path}`;
      const responses = (operation.responses ?? {}) as Record<string, Json>;
      const operationId = operation.operationId as string | undefined;
      if (!operationId) problems.push(`${name}: no operationId`);
      else if (operationIds.has(operationId)) problems.push(`${name}: operationId ${operationId} is used twice`);
      else operationIds.add(operationId);
      if (!operation.summary) problems.push(`${name}: no summary`);
      if (!operation.description) problems.push(`${name}: no description`);
      if (!(operation.tags as unknown[] | undefined)?.length) problems.push(`${name}: no tags`);
      if (!Object.keys(responses).some((status) => /^[23]/.test(status))) problems.push(`${name}: no success (or redirect) response`);
      for (const status of ['400', '401', '429', '500']) if (!responses[status]) problems.push(`${name}: no ${status} response`);
      for (const [type, media] of jsonMedia((operation.requestBody as Json | undefined)?.content)) {
        if (media.example === undefined && !hasExample(document as Json, media.schema as Json)) problems.push(`${name}: request body (${type}) has no example`);
      }
      for (const [status, response] of Object.entries(responses).filter(([status]) => /^2/.test(status))) {
        for (const [type, media] of jsonMedia(response.content)) {
          if (media.example === undefined && !hasExample(document as Json, media.schema as Json)) problems.push(`${name}: ${status} response (${type}) has no example`);
        }
      }
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
