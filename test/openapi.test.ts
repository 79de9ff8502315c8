/** The committed OpenAPI document is the one the app serves, it validates, and the docs page uses it. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { contractProblems, DOCUMENT_FILE, generatedDocument, lintDocument } from '../scripts/openapi';
import { connectNodeDatabase } from '../src/db/connect-node';
import { SCALAR_BUNDLE_PATH } from '../src/lib/api-reference';
import { testApp } from './support/app';

describe('the OpenAPI document', () => {
  test('openapi/openapi.json is what the app generates (run `npm run openapi:write` after changing a route)', async () => {
    expect(readFileSync(DOCUMENT_FILE, 'utf8')).toBe(await generatedDocument());
  });

  test('is valid OpenAPI 3.1 and every operation documents its success and error responses', async () => {
    const text = await generatedDocument();
    expect(JSON.parse(text).openapi).toBe('3.1.0');
    expect(await lintDocument(text)).toEqual([]);
  });

  test('the lint catches an invalid document and an undocumented operation', async () => {
    const document = JSON.parse(await generatedDocument());
    document.paths['/api/v1/projects'].get.responses = { 200: { content: {} } }; // no description: invalid, and no errors
    const problems = await lintDocument(JSON.stringify(document));
    expect(problems.some((p) => p.startsWith('not valid OpenAPI'))).toBe(true);
    expect(contractProblems(document)).toContain('GET /api/v1/projects: no 401 response');
  });

  test('the lint requires what client generators need: operationIds, descriptions, body examples', async () => {
    const document = JSON.parse(await generatedDocument());
    delete document.paths['/api/v1/projects'].get.operationId;
    delete document.paths['/api/v1/projects'].get.description;
    document.paths['/api/v1/project/branches'].get.operationId = document.paths['/api/v1/project'].get.operationId;
    delete document.components.schemas.OutputUpload.example;
    delete document.components.schemas.Output.example;
    expect(contractProblems(document)).toEqual(
      expect.arrayContaining([
        'GET /api/v1/projects: no operationId',
        'GET /api/v1/projects: no description',
        'GET /api/v1/project/branches: operationId getProject is used twice',
        'POST /api/v1/output: request body (application/json) has no example',
        'POST /api/v1/output: 200 response (application/json) has no example',
      ]),
    );
  });

  test('documents the credential schemes, the Idempotency-Key header and the 24 h expiry', async () => {
    const document = JSON.parse(await generatedDocument());
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['basicToken', 'bearerToken', 'sessionCookie']);
    expect(document.components.securitySchemes.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: '__Host-qaboard-session' });
    const postOutput = document.paths['/api/v1/output'].post;
    const header = postOutput.parameters.find((p: { name: string }) => p.name === 'idempotency-key');
    expect(header).toMatchObject({ in: 'header', required: false });
    expect(header.description).toContain('24 h');
    expect(Object.keys(postOutput.responses)).toEqual(expect.arrayContaining(['409', '413', '422', '429']));
  });

  test('/api/docs serves the interactive reference over /api/openapi.json, in every auth mode', async () => {
    const { db, close } = await connectNodeDatabase({ kind: 'pglite' });
    try {
      const app = testApp(db, { AUTH_MODE: 'all' });
      const page = await app.request('/api/docs');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const html = await page.text();
      expect(html).toContain('"/api/openapi.json"');
      // Scalar's bundle comes from the app (Workers Static Assets, or the Node entry), never from a CDN.
      expect(html).toContain(`<script src="${SCALAR_BUNDLE_PATH}">`);
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect((await app.request('/api/openapi.json')).status).toBe(200);
    } finally {
      await close();
    }
  });
});
