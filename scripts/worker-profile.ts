/**
 * A CPU profile of the Worker in workerd, through its inspector (Chrome DevTools Protocol): what
 * `npm run bench:worker -- --profile` prints as the top costs of a request.
 */
import WebSocket from 'ws';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Inspector {
  start(): Promise<void>;
  /** Stops profiling: self time per function (ms), largest first. */
  stop(): Promise<Array<{ name: string; ms: number }>>;
  close(): void;
}

/** `inspectorPort`: the inspector miniflare (or `wrangler dev --inspector-port`) serves for the app's workerd. */
export async function connectInspector(inspectorPort: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve as (result: unknown) => void);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  return {
    start: async () => void (await send('Profiler.start')),
    async stop() {
      const { profile } = await send<{ profile: Profile }>('Profiler.stop');
      const byId = new Map(profile.nodes.map((node) => [node.id, node]));
      const self = new Map<string, number>();
      profile.samples.forEach((id, i) => {
        const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
        const where = url ? `${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}` : '';
        const name = `${functionName || '(anonymous)'} ${where}`.trim();
        self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
      });
      return [...self].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
    },
    close: () => socket.close(),
  };
}
