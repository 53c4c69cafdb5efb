/**
 * A minimal leveled logger; payloads are only ever rendered at DEBUG, lazily, so INFO stays cheap. The level
 * is ASYA_LOG_LEVEL as each component's table reads it (or logLevelFromEnv, protocol/settings.ts).
 */
export type LogFields = Record<string, unknown>;

/** Also satisfies the transports' logger, so one process logs in one format. */
export interface Logger {
  debug(message: string | (() => string), fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

function renderFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('');
}

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export function createLogger(level: LogLevel, name: string): Logger {
  const min = LEVELS[level];
  const write = (lvl: keyof typeof LEVELS, message: string, fields?: LogFields) => {
    if (LEVELS[lvl] >= min) process.stderr.write(`${new Date().toISOString()} ${lvl} ${name}: ${message}${renderFields(fields)}\n`);
  };
  return {
    debug: (m, f) => {
      if (min <= LEVELS.DEBUG) write('DEBUG', typeof m === 'function' ? m() : m, f);
    },
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARNING', m, f),
    error: (m, f) => write('ERROR', m, f),
  };
}
