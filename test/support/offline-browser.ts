/**
 * Debian's headless Chromium, driven by playwright-core, with every request that leaves the app
 * refused: what a browser on a firewalled network sees. `.ci/run` installs Chromium; elsewhere the
 * browser tests are skipped when it is missing (CI fails instead).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
export const browserTestsRun = existsSync(CHROMIUM) || process.env.CI === 'true';

export interface OfflinePage {
  /** The page's visible text once `ready` accepted it (or at the time-out). */
  text: string;
  /** Requests to anywhere but the app's origin: each was refused. */
  refused: string[];
}

/** Opens `url` and returns the page's text as soon as `ready(text)` holds, or after `timeoutMs`. */
export async function openOffline(url: string, ready: (text: string) => boolean, timeoutMs = 30_000): Promise<OfflinePage> {
  const origin = new URL(url).origin;
  const profile = mkdtempSync(path.join(tmpdir(), 'qaboard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      // Below the request interception too: no host name but the app's resolves.
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
  });
  const refused: string[] = [];
  try {
    await context.route('**/*', (route) => {
      const requested = route.request().url();
      if (requested.startsWith(`${origin}/`) || requested.startsWith('data:')) return route.continue();
      refused.push(requested);
      return route.abort('blockedbyclient');
    });
    await context.routeWebSocket(/.*/, (socket) => {
      refused.push(socket.url());
      return socket.close();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline && !ready((text = await page.innerText('body')))) await page.waitForTimeout(200);
    return { text, refused };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The summary of every operation of an OpenAPI document: what the docs page must show. */
export function operationSummaries(document: { paths: Record<string, Record<string, { summary?: string }>> }): string[] {
  return Object.values(document.paths).flatMap((operations) => Object.values(operations).map((operation) => operation.summary ?? ''));
}
