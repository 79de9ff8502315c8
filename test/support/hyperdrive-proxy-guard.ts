/**
 * miniflare's local Hyperdrive proxy (src/plugins/hyperdrive/hyperdrive-proxy.ts, still so in
 * 4.20260426) pipes workerd's socket to Postgres with no 'error' listener on either socket
 * (cloudflare/workers-sdk#15768). When workerd drops a connection with a reset — an isolate torn down
 * while a request's session is still open — the unhandled 'error' event kills vitest's main process
 * and with it the whole run (seen in CI: `read ECONNRESET` during the worker-hyperdrive project).
 *
 * Until miniflare handles it, sockets that miniflare's own code creates with `net.createServer` /
 * `net.connect` in this process get a listener that just lets a reset socket go: `pipe` already
 * stops at the errored end, and the test that owned the request fails (or not) on its own terms.
 * Sockets created by anything else — the app, pg, the test proxies — are left exactly as they are.
 */
import net from 'node:net';

let installed = false;

export function guardMiniflareHyperdriveProxy(): void {
  if (installed) return;
  installed = true;
  const createServer = net.createServer;
  const connect = net.connect;
  net.createServer = function (this: unknown, ...args: Parameters<typeof net.createServer>) {
    const server = createServer.apply(this, args);
    if (calledFromMiniflare()) server.on('connection', ignoreResets);
    return server;
  } as typeof net.createServer;
  net.connect = function (this: unknown, ...args: unknown[]) {
    const socket = (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    if (calledFromMiniflare()) ignoreResets(socket);
    return socket;
  } as typeof net.connect;
}

function calledFromMiniflare(): boolean {
  return /[\\/]node_modules[\\/]miniflare[\\/]/.test(new Error().stack ?? '');
}

function ignoreResets(socket: net.Socket): void {
  socket.on('error', () => socket.destroy());
}
