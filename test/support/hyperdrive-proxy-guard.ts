/**
 * miniflare's local Hyperdrive proxy (src/plugins/hyperdrive/hyperdrive-proxy.ts, still so in
 * 4.20260426) pipes workerd's socket to Postgres with no 'error' listener on either socket
 * (cloudflare/workers-sdk#15768). When workerd drops a connection with a reset — an isolate torn down
 * while a request's session is still open — the unhandled 'error' event kills vitest's main process
 * and with it the whole run (seen in CI: `read ECONNRESET` during the worker-hyperdrive project).
 *
 * Until miniflare handles it, the sockets its own code creates with `net.createServer` / `net.connect`
 * in this process get the listener it lacks: an error on either end of a proxied connection closes
 * both (`pipe` passes neither errors nor `destroy` on), so a reset client leaves no Postgres session
 * behind and a refused database fails the Worker's query instead of hanging it. Each kind of error is
 * reported once. Sockets created by anything else — pg, the test proxies — are left as they are.
 */
import net from 'node:net';

let installed = false;

export function guardMiniflareHyperdriveProxy(): void {
  if (installed) return;
  installed = true;
  const createServer = net.createServer;
  const connect = net.connect;
  // miniflare's connection handler calls `net.connect` for the database at once: that socket is this client's peer.
  let accepted: net.Socket | undefined;
  net.createServer = function (this: unknown, ...args: Parameters<typeof net.createServer>) {
    const server = createServer.apply(this, args);
    if (calledFromMiniflare()) server.prependListener('connection', (socket: net.Socket) => void (accepted = socket));
    return server;
  } as typeof net.createServer;
  net.connect = function (this: unknown, ...args: unknown[]) {
    const socket = (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    if (calledFromMiniflare()) {
      closeTogether(socket, accepted);
      accepted = undefined;
    }
    return socket;
  } as typeof net.connect;
}

function calledFromMiniflare(): boolean {
  return /[\\/]node_modules[\\/]miniflare[\\/]/.test(new Error().stack ?? '');
}

const reported = new Set<string>();

function closeTogether(database: net.Socket, client: net.Socket | undefined): void {
  const close = (error: NodeJS.ErrnoException) => {
    const kind = error.code ?? error.message;
    if (!reported.has(kind)) {
      reported.add(kind);
      console.warn(`miniflare's Hyperdrive proxy: ${kind} on a proxied connection; both ends closed (reported once per kind)`);
    }
    database.destroy();
    client?.destroy();
  };
  database.on('error', close);
  client?.on('error', close);
}
