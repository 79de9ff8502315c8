/**
 * PGlite over the Postgres wire protocol, for several connections at once. PGlite has one session, so
 * connections take turns: a connection holds the session from its first message until PGlite answers
 * ReadyForQuery with the session idle. A whole extended-protocol exchange (Parse … Sync), a transaction
 * block, a COPY, each runs as one turn; so a client that waits inside a transaction block for another
 * connection's answer waits for ever, as it would for a lock on a real server. pglite-socket, which this
 * replaces, interleaved connections message by message: one connection's Bind could meet another's
 * Parse ("unnamed prepared statement does not exist").
 */
import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I': ReadyForQuery's status outside a transaction block
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

interface Connection {
  socket: net.Socket;
  received: Buffer;
  /** Whole messages not yet run, in order. */
  messages: Uint8Array[];
  /** Before the startup message, messages have no type byte. */
  started: boolean;
  running: boolean;
  closed: boolean;
}

/** The length of the first whole message in `bytes`: 0 if incomplete, -1 if no message can be that short. */
function messageLength(bytes: Buffer, started: boolean): number {
  const header = started ? 5 : 8; // type and length; before startup, length and code
  if (bytes.length < header) return 0;
  const length = started ? 1 + bytes.readInt32BE(1) : bytes.readInt32BE(0);
  if (length < header) return -1;
  return bytes.length >= length ? length : 0;
}

/** Whether the last message of a backend answer is ReadyForQuery with the session idle. */
function endsIdle(answer: Buffer): boolean {
  let at = 0;
  let last = -1;
  while (at + 5 <= answer.length) {
    last = at;
    at += 1 + answer.readInt32BE(at + 1);
  }
  return last >= 0 && at === answer.length && answer[last] === READY_FOR_QUERY && answer[last + 5] === IDLE;
}

export interface PgliteWire {
  /** `host:port` */
  address: string;
  close(): Promise<void>;
}

export async function servePgliteWire(db: PGlite, host = '127.0.0.1'): Promise<PgliteWire> {
  /** The connection whose turn it is, and those waiting for theirs. */
  let holder: Connection | undefined;
  const waiting: Connection[] = [];
  const connections = new Set<Connection>();

  function handOver() {
    holder = undefined;
    const next = waiting.shift();
    if (next) void run(next);
  }

  /** Runs the connection's messages in its turn; the turn ends when the session is idle again, or the connection is gone. */
  async function run(connection: Connection) {
    if (connection.running) return; // its loop takes the new messages
    if (holder && holder !== connection) {
      if (!waiting.includes(connection)) waiting.push(connection);
      return;
    }
    holder = connection;
    connection.running = true;
    let idle = false;
    try {
      for (let message = connection.messages.shift(); message; message = connection.messages.shift()) {
        const answer: Uint8Array[] = [];
        // A chunk is a view of PGlite's memory, which the next chunk overwrites: copied.
        await db.runExclusive(() => db.execProtocolRawStream(message!, { onRawData: (chunk) => void answer.push(Buffer.from(chunk)) }));
        const bytes = Buffer.concat(answer);
        idle = endsIdle(bytes);
        if (!connection.socket.destroyed) connection.socket.write(bytes);
      }
    } catch (error) {
      connection.socket.destroy(error as Error);
    } finally {
      connection.running = false;
    }
    if (connection.closed) await leave(connection);
    else if (idle) handOver();
  }

  /** A connection gone in its turn: the session is put back to idle for the next one. */
  async function leave(connection: Connection) {
    if (holder !== connection || connection.running) return;
    await db.runExclusive(() => db.execProtocolRawStream(SYNC, { onRawData: () => {} })); // ends an extended-protocol exchange it left open
    if (db.isInTransaction()) await db.exec('ROLLBACK');
    handOver();
  }

  function received(connection: Connection, data: Buffer) {
    connection.received = connection.received.length ? Buffer.concat([connection.received, data]) : data;
    for (let length = messageLength(connection.received, connection.started); length; length = messageLength(connection.received, connection.started)) {
      if (length < 0) return void connection.socket.destroy();
      const message = connection.received.subarray(0, length);
      connection.received = connection.received.subarray(length);
      if (!connection.started) {
        const code = message.readInt32BE(4);
        if (code === SSL_REQUEST) {
          connection.socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST) return void connection.socket.end(); // not supported: statements here don't run long
        connection.started = true;
      } else if (message[0] === TERMINATE) {
        return void connection.socket.end(); // clients send it once their last query is answered
      }
      connection.messages.push(new Uint8Array(message));
    }
    void run(connection);
  }

  function closed(connection: Connection) {
    if (connection.closed) return;
    connection.closed = true;
    connections.delete(connection);
    connection.messages.length = 0;
    const queued = waiting.indexOf(connection);
    if (queued >= 0) waiting.splice(queued, 1);
    void leave(connection);
  }

  const server = net.createServer((socket) => {
    const connection: Connection = { socket, received: Buffer.alloc(0), messages: [], started: false, running: false, closed: false };
    connections.add(connection);
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => received(connection, data));
    socket.on('close', () => closed(connection));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const { socket } of connections) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
