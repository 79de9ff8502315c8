/**
 * `/api/docs` works with no network but the app: a browser that may reach nothing else shows every
 * operation of `/api/openapi.json`, so the Scalar bundle is the app's own. (The Worker's static
 * asset is checked the same way in test/dev-command.test.ts, through `npm run dev`.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { browserTestsRun, openOffline, operationSummaries } from './support/offline-browser';
import { killOwned } from '../src/maintenance/owned-children';
import { startServer } from './support/node-entry';

describe.runIf(browserTestsRun)('the docs page with all network but the app blocked', () => {
  test('on the Node entry, shows every operation of the OpenAPI document', async () => {
    const entry = await startServer(mkdtempSync(path.join(tmpdir(), 'qaboard-docs-')));
    try {
      const summaries = operationSummaries(await (await fetch(`${entry.url}/api/openapi.json`)).json());
      expect(summaries.length).toBeGreaterThan(10);
      const page = await openOffline(`${entry.url}/api/docs`, (text) => summaries.every((s) => text.includes(s)));
      expect(summaries.filter((s) => !page.text.includes(s))).toEqual([]);
      expect(page.refused).toEqual([]);
    } finally {
      await killOwned(entry.child);
    }
  });
});
