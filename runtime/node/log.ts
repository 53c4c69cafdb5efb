/** A minimal leveled logger; payloads are only ever rendered at DEBUG, lazily, so INFO stays cheap. */
export interface Logger {
  debug(message: string | (() => string)): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 } as const;

export function createLogger(level: keyof typeof LEVELS, name = 'asya.runtime'): Logger {
  const min = LEVELS[level];
  const write = (lvl: keyof typeof LEVELS, message: string) => {
    if (LEVELS[lvl] >= min) process.stderr.write(`${new Date().toISOString()} ${lvl} ${name}: ${message}\n`);
  };
  return {
    debug: (m) => {
      if (min <= LEVELS.DEBUG) write('DEBUG', typeof m === 'function' ? m() : m);
    },
    info: (m) => write('INFO', m),
    warn: (m) => write('WARNING', m),
    error: (m) => write('ERROR', m),
  };
}
