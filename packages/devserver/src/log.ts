/** Minimal leveled logger writing to stderr. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  log(level: LogLevel, msg: string): void;
}

export function createLogger(level: LogLevel = 'info'): Logger {
  const min = order[level] ?? 1;
  const log = (l: LogLevel, msg: string) => {
    if (order[l] >= min)
      process.stderr.write(`${new Date().toISOString()} [devserver] ${l.toUpperCase()} ${msg}\n`);
  };
  return {
    log,
    debug: (m) => log('debug', m),
    info: (m) => log('info', m),
    warn: (m) => log('warn', m),
    error: (m) => log('error', m),
  };
}
