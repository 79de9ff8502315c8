/**
 * PGlite over the Postgres wire protocol, for several connections at once. PGlite has one session, so
 * connections take turns: a connection holds the session from its first message until PGlite answers
 * ReadyForQuery with the session idle. A whole extended-protocol exchange (Parse … Sync) or transaction
 * block runs as one turn; so a client that waits inside a transaction block for another connection's
 * answer waits for ever, as it would for a lock on a real server. pglite-socket, which this replaces,
 * interleaved connections message by message: one connection's Bind could meet another's Parse
 * ("unnamed prepared statement does not exist").
 *
 * PGlite runs one message per call, so what it can't take that way is refused before it gets there: a
 * startup it would die of (Postgres ends the backend on a FATAL startup error, and PGlite's one backend
 * with it), and COPY FROM STDIN, whose data it would read from an empty input. If PGlite fails anyway,
 * every connection is closed and the server with them, loudly: nothing would work after.
 */
import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I': ReadyForQuery's status outside a transaction block
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);
/** Larger declared lengths are junk (a TLS hello, another protocol), not buffered. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const COPY_FROM_STDIN = /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i;

interface Connection {
  socket: net.Socket;
  received: Buffer;
  /** Whole messages not yet run, in order. */
  messages: Uint8Array[];
  /** Before the startup message, messages have no type byte. */
  started: boolean;
  running: boolean;
  /** Terminate received: the socket ends once the messages before it have run. */
  ending: boolean;
  closed: boolean;
}

/** The length of the first whole message in `bytes`: 0 if incomplete, -1 if no message can be that long or short. */
function messageLength(bytes: Buffer, started: boolean): number {
  const header = started ? 5 : 8; // type and length; before startup, length and code
  if (bytes.length < header) return 0;
  const length = started ? 1 + bytes.readInt32BE(1) : bytes.readInt32BE(0);
  if (length < header || length > MAX_MESSAGE_BYTES) return -1;
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

function backendMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

/** ErrorResponse (SQLSTATE 0A000, feature not supported). */
const refusal = (message: string) =>
  backendMessage('E', Buffer.from(`SERROR\0VERROR\0C0A000\0M${message}\0\0`, 'utf8'));

/** The startup parameters (`user`, `database`, …) of a protocol 3.0 startup message. */
function startupParameters(message: Buffer): Map<string, string> {
  const fields = message.toString('utf8', 8).split('\0');
  return new Map(Array.from({ length: Math.floor(fields.length / 2) }, (_, i) => [fields[2 * i]!, fields[2 * i + 1]!]));
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
  /** Turns under way, for `close()` to wait for before the database closes. */
  const turns = new Set<Promise<void>>();
  let failed = false;

  const server = net.createServer((socket) => {
    const connection: Connection = { socket, received: Buffer.alloc(0), messages: [], started: false, running: false, ending: false, closed: false };
    connections.add(connection);
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => received(connection, data));
    socket.on('close', () => closed(connection));
    socket.on('error', () => socket.destroy());
  });

  /** PGlite failed: nothing can use it any more. */
  function fail(error: unknown) {
    if (failed) return;
    failed = true;
    console.error('served PGlite failed; closing its server:', error);
    for (const { socket } of connections) socket.destroy();
    server.close();
  }

  function track(turn: Promise<void>) {
    turns.add(turn);
    void turn.finally(() => turns.delete(turn));
  }

  function handOver() {
    holder = undefined;
    const next = waiting.shift();
    if (next) track(run(next));
  }

  /** Runs the connection's messages in its turn; the turn ends when the session is idle again, or the connection is gone. */
  async function run(connection: Connection) {
    if (connection.running || failed || !connection.messages.length) return; // a running loop takes the new messages
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
        if (message[0] === QUERY && COPY_FROM_STDIN.test(Buffer.from(message).toString('utf8', 5))) {
          answer.push(refusal('COPY FROM STDIN is not supported by this PGlite server'), backendMessage('Z', Buffer.from(db.isInTransaction() ? 'T' : 'I')));
        } else {
          // A chunk is a view of PGlite's memory, which the next chunk overwrites: copied.
          await db.runExclusive(() => db.execProtocolRawStream(message!, { onRawData: (chunk) => void answer.push(Buffer.from(chunk)) }));
        }
        const bytes = Buffer.concat(answer);
        idle = endsIdle(bytes);
        if (!connection.socket.destroyed) connection.socket.write(bytes);
      }
    } catch (error) {
      return fail(error);
    } finally {
      connection.running = false;
    }
    if (connection.ending) connection.socket.end();
    if (connection.closed) await leave(connection);
    else if (idle) handOver();
  }

  /** A connection gone in its turn: the session is put back to idle for the next one. */
  async function leave(connection: Connection) {
    if (holder !== connection || connection.running || failed) return;
    try {
      await db.runExclusive(() => db.execProtocolRawStream(SYNC, { onRawData: () => {} })); // ends an extended-protocol exchange it left open
      if (db.isInTransaction()) await db.exec('ROLLBACK');
      handOver();
    } catch (error) {
      fail(error);
    }
  }

  /** The startup message, checked: PGlite's backend would end on one Postgres refuses. */
  function startup(connection: Connection, message: Buffer): 'skip' | 'run' | 'end' {
    const code = message.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      connection.socket.write('N'); // no encryption: the client goes on in the clear, or gives up
      return 'skip';
    }
    if (code === CANCEL_REQUEST) return 'end'; // not supported: statements here don't run long
    if (code !== PROTOCOL_3 || !startupParameters(message).get('user')) {
      connection.socket.write(refusal('only protocol 3.0 startups naming a user are supported'));
      return 'end';
    }
    connection.started = true;
    return 'run';
  }

  function received(connection: Connection, data: Buffer) {
    if (connection.ending) return;
    connection.received = connection.received.length ? Buffer.concat([connection.received, data]) : data;
    for (let length = messageLength(connection.received, connection.started); length; length = messageLength(connection.received, connection.started)) {
      if (length < 0) return void connection.socket.destroy();
      const message = connection.received.subarray(0, length);
      connection.received = connection.received.subarray(length);
      if (!connection.started) {
        const next = startup(connection, message);
        if (next === 'end') return void connection.socket.end();
        if (next === 'skip') continue;
      } else if (message[0] === TERMINATE) {
        connection.ending = true;
        break;
      }
      connection.messages.push(new Uint8Array(message));
    }
    if (connection.ending && !connection.messages.length && !connection.running) return void connection.socket.end();
    track(run(connection));
  }

  function closed(connection: Connection) {
    if (connection.closed) return;
    connection.closed = true;
    connections.delete(connection);
    connection.messages.length = 0;
    const queued = waiting.indexOf(connection);
    if (queued >= 0) waiting.splice(queued, 1);
    track(leave(connection));
  }

  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `${host}:${port}`,
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Each socket's own 'close' handler runs first: the turn it starts (a rollback) is tracked by then.
      const sockets = [...connections].map(({ socket }) => new Promise((resolve) => socket.once('close', resolve).destroy()));
      await Promise.all([stopped, ...sockets]);
      while (turns.size) await Promise.allSettled([...turns]);
    },
  };
}
