/**
 * Structured logs: one JSON object per line, the same on Node and Workers (Workers Logs index the
 * fields). Records carry identifiers and sizes, never request payloads.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type LogRecord = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, record: LogRecord): void;
}

const WRITE: Record<LogLevel, (line: string) => void> = {
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/** A record as its log line (without the newline). */
export const logLine = (level: LogLevel, record: LogRecord) => JSON.stringify({ level, time: new Date().toISOString(), ...record });

export const consoleLogger: Logger = {
  log(level, record) {
    WRITE[level](logLine(level, record));
  },
};

/** For benchmarks and tools whose output is their figures. */
export const quietLogger: Logger = { log() {} };
