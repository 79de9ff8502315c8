/**
 * The Node entry's logger: the console logger's lines, but the info lines of one turn of the event
 * loop are written together. One write per line was one system call per request — stdout to a pipe
 * or a file is written synchronously — a measurable share of an upload's CPU under load. Warnings
 * and errors go out at once (after the info lines waiting, to keep the order), and on exit nothing
 * waiting is lost.
 */
import { logLine, type Logger } from './logger';

export function stdoutLogger(): Logger {
  let waiting: string[] = [];
  const flush = () => {
    if (!waiting.length) return;
    process.stdout.write(waiting.join(''));
    waiting = [];
  };
  process.on('exit', flush);
  return {
    log(level, record) {
      const line = `${logLine(level, record)}\n`;
      if (level === 'info') {
        if (!waiting.length) setImmediate(flush);
        waiting.push(line);
        return;
      }
      flush();
      process.stderr.write(line);
    },
  };
}
