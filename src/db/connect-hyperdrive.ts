/**
 * Postgres through a Cloudflare Hyperdrive binding: Hyperdrive keeps the database connections pooled
 * at the edge (and may cache reads), so a Worker request's connection costs no new database session.
 *
 * The client is the Neon driver's node-postgres-compatible `Pool`, with its socket carried over the
 * binding's TCP socket (`Hyperdrive.connect()`) instead of a WebSocket: node-postgres itself would need
 * the `nodejs_compat` layer, which this Worker does without.
 */
import { Client, Pool } from '@neondatabase/serverless';
import { drizzle } from 'drizzle-orm/neon-serverless';
import { poolTimeouts, type DatabaseTimeouts, type Db } from './client';
import * as schema from './schema';

type Listener = (event: { data?: Uint8Array }) => void;
type EventName = 'open' | 'message' | 'close' | 'error';

/**
 * What the Neon driver's socket uses of a WebSocket (`binaryType`, `addEventListener`, `send`, `close`),
 * over a TCP socket. Postgres's byte stream goes through unchanged: each chunk read is one `message`.
 */
function tcpAsWebSocket(open: () => Socket) {
  return class TcpWebSocket {
    binaryType = 'arraybuffer';
    private readonly listeners: Record<EventName, Listener[]> = { open: [], message: [], close: [], error: [] };
    private readonly socket = open();
    private readonly writer = this.socket.writable.getWriter();
    private closed = false;

    constructor(_url: string) {
      this.socket.opened.then(
        () => this.emit('open', {}),
        (error) => this.fail(error),
      );
      void this.read();
    }

    addEventListener(name: EventName, listener: Listener) {
      this.listeners[name].push(listener);
    }

    send(data: Uint8Array) {
      this.writer.write(data).catch((error: unknown) => this.fail(error));
    }

    close() {
      if (this.closed) return;
      this.closed = true;
      this.socket.close().catch(() => {});
      this.emit('close', {});
    }

    private async read() {
      const reader = this.socket.readable.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          this.emit('message', { data: value as Uint8Array });
        }
      } catch (error) {
        return this.fail(error);
      }
      this.close();
    }

    private fail(error: unknown) {
      if (this.closed) return;
      this.closed = true;
      console.error('hyperdrive socket error:', error instanceof Error ? error.message : String(error));
      this.emit('error', {}); // the driver's socket emits `error` and `close` on it
    }

    private emit(name: EventName, event: { data?: Uint8Array }) {
      for (const listener of this.listeners[name]) listener(event);
    }
  };
}

/**
 * One invocation's pool on the binding. It connects when the first statement needs it; every
 * connection is a new socket to Hyperdrive (a cheap local hop), never a new database session.
 */
export function openHyperdriveDatabase(hyperdrive: Hyperdrive, timeouts: DatabaseTimeouts): { db: Db; pool: Pool } {
  const webSocketConstructor = tcpAsWebSocket(() => hyperdrive.connect());
  class HyperdriveClient extends Client {
    constructor(config?: ConstructorParameters<typeof Client>[0]) {
      super(config);
      // The socket's options, per client: the binding's TCP socket, plain Postgres on it (Hyperdrive does the TLS to the database).
      Object.assign(this.neonConfig, { webSocketConstructor, wsProxy: (host: string, port: number) => `${host}:${port}`, useSecureWebSocket: false, forceDisablePgSSL: true, pipelineConnect: false, pipelineTLS: false });
    }
  }
  // The driver's Pool sets its own `Client` after construction, over the `Client` option: a subclass sets it back.
  class HyperdrivePool extends Pool {
    override Client = HyperdriveClient;
  }
  const pool = new HyperdrivePool({ connectionString: hyperdrive.connectionString, ...poolTimeouts(timeouts) });
  pool.on('error', (err: Error) => console.error('hyperdrive pool error:', err.message));
  return { db: drizzle({ client: pool, schema }), pool };
}
