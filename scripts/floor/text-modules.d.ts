/** Bundled as text by esbuild (`loader: { '.jsonl': 'text' }`, scripts/bench-workerd-loop.ts). */
declare module '*.jsonl' {
  const text: string;
  export default text;
}
