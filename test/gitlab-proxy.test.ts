/**
 * `/api/v1/gitlab/proxy`: images from the configured GitLab only. SSRF attempts — other hosts,
 * other ports, IP literals, credentials in the URL, other schemes, redirects off the host — are
 * refused without any request leaving for them; size, time and content type are bounded.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testApp, type TestApp } from './support/app';
import { engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { startFakeGitLab, type FakeGitLab } from './support/fake-gitlab';

type Json = Record<string, any>;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

describe.each(engineNames)('the GitLab image proxy on %s', (engine) => {
  let database: TestDatabase;
  let gitlab: FakeGitLab;
  let app: TestApp;
  let elsewhere: http.Server;
  let elsewhereUrl: string;
  const elsewhereHits: string[] = [];

  const proxy = (url: string) => app.request(`/api/v1/gitlab/proxy?url=${encodeURIComponent(url)}`);

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    gitlab = await startFakeGitLab([]);
    // Another service on the same machine: what an SSRF would reach for.
    elsewhere = http.createServer((request, response) => {
      elsewhereHits.push(request.url!);
      response.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    });
    elsewhere.listen(0, '127.0.0.1');
    await once(elsewhere, 'listening');
    elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    const { images, redirects } = gitlab.identity;
    images.set('/uploads/-/system/user/avatar/7/avatar.png', { type: 'image/png', body: PNG });
    images.set('/group/repo/badges/master/pipeline.svg', { type: 'image/svg+xml', body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>') });
    images.set('/page.html', { type: 'text/html', body: Buffer.from('<html>') });
    images.set('/layers.psd', { type: 'image/vnd.adobe.photoshop', body: Buffer.from('8BPS') });
    images.set('/made-up', { type: 'image/x-anything+html', body: Buffer.from('<html>') });
    images.set('/photo.webp', { type: 'IMAGE/WEBP; charset=binary', body: Buffer.from('RIFF') });
    images.set('/big.png', { type: 'image/png', body: Buffer.alloc(4096) });
    images.set('/big-chunked.png', { type: 'image/png', body: Buffer.alloc(4096), chunked: true });
    images.set('/slow.png', { type: 'image/png', body: PNG, delayMs: 1500 });
    redirects.set('/avatar-moved', '/uploads/-/system/user/avatar/7/avatar.png');
    redirects.set('/to-elsewhere', `${elsewhereUrl}/latest/meta-data/`);
    redirects.set('/loop', '/loop');
    app = testApp(database.db, { GITLAB_URL: gitlab.url, GITLAB_PROXY_MAX_BYTES: '1024', GITLAB_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    await new Promise((resolve) => elsewhere?.close(resolve));
    await gitlab?.close();
    await database?.close();
  });

  test('serves an image of the GitLab host, with cache headers, sandboxed, without sending credentials', async () => {
    const response = await proxy(`${gitlab.url}/uploads/-/system/user/avatar/7/avatar.png`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(PNG);
    expect(Object.fromEntries(['content-type', 'cache-control', 'x-content-type-options', 'content-security-policy'].map((h) => [h, response.headers.get(h)]))).toEqual({
      'content-type': 'image/png',
      'cache-control': 'private, max-age=86400',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    });
    const badge = await proxy(`${gitlab.url}/group/repo/badges/master/pipeline.svg`);
    expect(badge.headers.get('content-type')).toBe('image/svg+xml');
    for (const headers of gitlab.identity.imageRequestHeaders) {
      expect(headers).not.toHaveProperty('private-token');
      expect(headers).not.toHaveProperty('authorization');
      expect(headers).not.toHaveProperty('cookie');
    }
  });

  test('refuses URLs off the GitLab host with a 400 naming `url` — nothing is fetched', async () => {
    const port = new URL(gitlab.url).port;
    const attempts = [
      `${elsewhereUrl}/latest/meta-data/`,
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      `http://[::1]:${port}/uploads/a.png`,
      `http://[::ffff:127.0.0.1]:${port}/uploads/a.png`,
      `http://localhost:${port}/uploads/a.png`,
      `http://127.0.0.2:${port}/uploads/a.png`,
      `https://127.0.0.1:${port}/uploads/a.png`,
      `http://user:secret@127.0.0.1:${port}/uploads/-/system/user/avatar/7/avatar.png`,
      `http://127.0.0.1:${port}.evil.example/a.png`,
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
      `//127.0.0.1:${port}/uploads/a.png`,
    ];
    for (const url of attempts) {
      const response = await proxy(url);
      expect(response.status, url).toBe(400);
      expect(((await response.json()) as Json).errors, url).toEqual([{ field: 'url', message: `only URLs on ${gitlab.url} are proxied` }]);
    }
    expect(elsewhereHits).toEqual([]);
  });

  test('follows redirects on the host; refuses one that leaves it (not fetched) and endless ones', async () => {
    expect((await proxy(`${gitlab.url}/avatar-moved`)).status).toBe(200);
    const off = await proxy(`${gitlab.url}/to-elsewhere`);
    expect(off.status).toBe(502);
    expect(((await off.json()) as Json).detail).toContain('off the GitLab host');
    expect(elsewhereHits).toEqual([]);
    expect((await proxy(`${gitlab.url}/loop`)).status).toBe(502);
  });

  test('only images, at most GITLAB_PROXY_MAX_BYTES, within GITLAB_TIMEOUT_MS; GitLab’s 404 is a 404', async () => {
    const html = await proxy(`${gitlab.url}/page.html`);
    expect(html.status).toBe(502);
    expect(((await html.json()) as Json).detail).toContain('not an image');
    for (const path of ['/layers.psd', '/made-up']) {
      const other = await proxy(`${gitlab.url}${path}`);
      expect(other.status, path).toBe(502); // image/*, but not an image type browsers show (attack finding F8)
      expect(((await other.json()) as Json).detail).toContain('not an image');
    }
    const webp = await proxy(`${gitlab.url}/photo.webp`);
    expect(webp.status).toBe(200);
    expect(webp.headers.get('content-type')).toBe('image/webp');
    for (const path of ['/big.png', '/big-chunked.png']) {
      const big = await proxy(`${gitlab.url}${path}`);
      expect(big.status, path).toBe(502);
      expect(((await big.json()) as Json).detail).toContain('exceeds 1024 bytes');
    }
    const started = Date.now();
    const slow = await proxy(`${gitlab.url}/slow.png`);
    expect(slow.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1400);
    expect((await proxy(`${gitlab.url}/uploads/missing.png`)).status).toBe(404);
  });

  test('without GITLAB_URL the proxy is off (503)', async () => {
    expect((await testApp(database.db).request(`/api/v1/gitlab/proxy?url=${encodeURIComponent(`${gitlab.url}/big.png`)}`)).status).toBe(503);
  });
});
