/**
 * The local stand-in for Neon's front door, so the production driver runs for real in tests and in
 * `wrangler dev` against any Postgres server. One port serves both of the driver's transports:
 * - WebSocket (`Pool`/`Client`): a WebSocket → TCP proxy. The driver is configured with
 *   `neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}``. The driver never
 *   closes its socket after the Terminate message, so the proxy ends the TCP side itself when it sees
 *   one ('X'); otherwise Postgres would keep the backend until the WebSocket times out.
 * - HTTP (`neon()`, drizzle-orm/neon-http): `POST /sql`, Neon's SQL-over-HTTP protocol
 *   (scripts/neon-sql-over-http.ts), with `neonConfig.fetchEndpoint = `http://127.0.0.1:<port>/sql``.
 * `configureNeonForProxy` (src/db/connect-neon.ts) points the driver at both.
 * `GET /stats` counts what clients opened: WebSocket sessions and SQL-over-HTTP requests (tests and
 * `npm run bench:worker` check that one-shot statements open no session).
 *
 * Local development and tests only: it listens on 127.0.0.1 and reaches whatever server a client names.
 * Its address (`NEON_WS_PROXY`) never belongs in deployed configuration.
 *
 * CLI: `tsx scripts/neon-ws-proxy.ts [port]` (default 5433).
 */
import http from 'node:http';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { sqlOverHttp } from './neon-sql-over-http';

export interface NeonWsProxy {
  /** `ws://127.0.0.1:<port>`: what `NEON_WS_PROXY` and `configureNeonForProxy` take. */
  url: string;
  /** `http://127.0.0.1:<port>/sql`: the SQL-over-HTTP endpoint on the same port. */
  sqlUrl: string;
  /** Since start: WebSocket sessions opened, SQL-over-HTTP requests answered (also `GET /stats`). */
  stats(): ProxyStats;
  close(): Promise<void>;
}

export interface ProxyStats {
  webSockets: number;
  sqlRequests: number;
}

/** Tracks Postgres frontend message boundaries to spot the Terminate message. */
function terminateDetector() {
  let startupDone = false;
  let header = Buffer.alloc(0);
  let skip = 0; // bytes left in the current message body
  return (chunk: Buffer): boolean => {
    let offset = 0;
    while (offset < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - offset);
        skip -= n;
        offset += n;
        continue;
      }
      // The startup message has no type byte: int32 length; every later message: type byte + int32 length.
      const headerSize = startupDone ? 5 : 4;
      const need = headerSize - header.length;
      header = Buffer.concat([header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (header.length < headerSize) break;
      if (!startupDone) {
        skip = header.readInt32BE(0) - 4;
        startupDone = true;
      } else {
        if (header[0] === 0x58 /* 'X' */) return true;
        skip = header.readInt32BE(1) - 4;
      }
      header = Buffer.alloc(0);
    }
    return false;
  };
}

function bridge(ws: WebSocket, address: string) {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const socket = net.connect({ host, port });
  const isTerminate = terminateDetector();
  const pending: Buffer[] = [];
  let connected = false;
  socket.on('connect', () => {
    connected = true;
    for (const chunk of pending.splice(0)) socket.write(chunk);
  });
  socket.on('data', (data) => ws.readyState === ws.OPEN && ws.send(data));
  socket.on('close', () => ws.close());
  socket.on('error', () => ws.close());
  ws.on('message', (data: Buffer) => {
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    if (connected) socket.write(chunk);
    else pending.push(chunk);
    if (isTerminate(chunk)) {
      socket.end();
      ws.close();
    }
  });
  ws.on('close', () => socket.destroy());
  ws.on('error', () => socket.destroy());
}

export async function startNeonWsProxy(port = 0): Promise<NeonWsProxy> {
  const sql = sqlOverHttp();
  const stats: ProxyStats = { webSockets: 0, sqlRequests: 0 };
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://proxy').pathname;
    if (request.method === 'POST' && path === '/sql') {
      stats.sqlRequests += 1;
      return void sql.handle(request, response);
    }
    if (request.method === 'GET' && path === '/stats') {
      return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('POST /sql (SQL over HTTP), GET /stats, or a WebSocket to /v2?address=host:port');
  });
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (ws, request) => {
    const address = new URL(request.url ?? '/', 'ws://proxy').searchParams.get('address');
    if (!address) return ws.close(1008, 'missing ?address=host:port');
    stats.webSockets += 1;
    bridge(ws, address);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  const { port: actualPort } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${actualPort}`,
    sqlUrl: `http://127.0.0.1:${actualPort}/sql`,
    stats: () => ({ ...stats }),
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections(); // idle keep-alive HTTP connections would hold close() open
      await Promise.all([new Promise((resolve) => server.close(resolve)), sql.close()]);
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const proxy = await startNeonWsProxy(Number(process.argv[2] ?? 5433));
  console.log(`Neon proxy: WebSocket on ${proxy.url}, SQL over HTTP on ${proxy.sqlUrl}; set NEON_WS_PROXY=${proxy.url}`);
}
