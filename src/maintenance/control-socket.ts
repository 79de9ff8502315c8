/**
 * How maintenance commands reach the Node entry that owns the embedded database: a Unix domain socket
 * beside it (`<QABOARD_DATA_DIR>/control.sock`). Its file mode (0600) is the authorization — only the
 * server's own user can connect — and it is not reachable from the network, so it needs no API token.
 * `npm run backup` sends its request here when a server owns the database: the export then runs in the
 * server, on the data it serves, instead of a second process opening the folder (see data-folder-lock.ts).
 *
 * Protocol: the client writes one JSON request line; the server answers JSON lines of progress, then
 * one `done` or `error` line, and closes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export type ControlRequest = { command: 'backup'; to: string };
type ControlAnswer = { progress: string } | { done: string } | { error: string };

/** Runs a request; `progress` sends a line to the client. Resolves with the final message. */
export type ControlHandler = (request: ControlRequest, progress: (line: string) => void) => Promise<string>;

/** Socket paths are limited to ~104 bytes: a deeper data folder gets its socket in a private temporary folder (its path is in the lock file). */
const MAX_SOCKET_PATH = 100;

export interface ControlSocket {
  path: string;
  close(): Promise<void>;
}

export async function serveControlSocket(dataRoot: string, handle: ControlHandler): Promise<ControlSocket> {
  let socketPath = path.join(dataRoot, 'control.sock');
  let privateFolder: string | undefined;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    privateFolder = mkdtempSync(path.join(tmpdir(), 'qaboard-')); // mode 0700
    socketPath = path.join(privateFolder, 'control.sock');
  }
  // Left by a process that was killed: we hold the database's lock, so it is not anyone's.
  rmSync(socketPath, { force: true });
  const server = createServer((socket) => {
    const send = (answer: ControlAnswer) => socket.writable && socket.write(`${JSON.stringify(answer)}\n`);
    createInterface({ input: socket }).once('line', (line) => {
      let request: ControlRequest;
      try {
        request = JSON.parse(line) as ControlRequest;
      } catch {
        return socket.end(`${JSON.stringify({ error: 'the request is not JSON' })}\n`);
      }
      handle(request, (progress) => send({ progress }))
        .then((done) => send({ done }))
        .catch((error: unknown) => send({ error: error instanceof Error ? error.message : String(error) }))
        .finally(() => socket.end());
    });
    socket.on('error', () => {}); // a client that went away: the work finishes anyway
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  await chmod(socketPath, 0o600);
  return {
    path: socketPath,
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          if (privateFolder) rmSync(privateFolder, { recursive: true, force: true });
          resolve();
        }),
      ),
  };
}

/** Sends one request to a server's control socket; resolves with its final message, rejects with its error. */
export function sendControlRequest(socketPath: string, request: ControlRequest, onProgress: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath, () => socket.write(`${JSON.stringify(request)}\n`));
    let answered = false;
    socket.on('error', reject);
    createInterface({ input: socket })
      .on('line', (line) => {
        const answer = JSON.parse(line) as Partial<{ progress: string; done: string; error: string }>;
        if (answer.progress !== undefined) return onProgress(answer.progress);
        answered = true;
        if (answer.done !== undefined) resolve(answer.done);
        else reject(new Error(answer.error));
      })
      .on('close', () => answered || reject(new Error(`the server closed its control socket ${socketPath} without an answer`)));
  });
}
