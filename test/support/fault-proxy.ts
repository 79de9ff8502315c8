/**
 * A TCP proxy in front of a Postgres server that tests switch between healthy and broken: it lets
 * fault tests make the database refuse connections, drop them, or hang — without touching the
 * shared server. Point a connection string at `port` instead of the server's.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type FaultMode =
  /** Forward everything. */
  | 'pass'
  /** Close every connection, and refuse new ones (a database that went down). */
  | 'down'
  /** Accept connections and bytes, answer nothing (a database that hangs). */
  | 'hang';

export interface FaultProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  urlThrough(url: string): string;
  setMode(mode: FaultMode): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: FaultMode = 'pass';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (mode === 'down') return client.destroy();
    const upstream = net.connect(target);
    sockets.add(client).add(upstream);
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => mode === 'pass' && upstream.write(chunk));
    upstream.on('data', (chunk) => mode === 'pass' && client.write(chunk));
    for (const socket of [client, upstream]) socket.on('close', forget).on('error', forget);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    urlThrough(url) {
      const through = new URL(url);
      through.hostname = '127.0.0.1';
      through.port = String(port);
      return through.toString();
    },
    setMode(next) {
      mode = next;
      if (next === 'down') for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
