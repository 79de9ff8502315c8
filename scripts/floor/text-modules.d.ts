/** Bundled as text by esbuild (`loader: { '.jsonl': 'text' }`, scripts/floor/bundle-worker.ts). */
declare module '*.jsonl' {
  const text: string;
  export default text;
}
