/**
 * Transports report what they recover from (reconnects, stale acks, requeued handler failures) instead of
 * throwing, so the caller's logger has to be pluggable; tests capture these lines to count them.
 */
export interface TransportLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function line(level: string, message: string, fields?: Record<string, unknown>): string {
  return JSON.stringify({ level, component: 'transport', msg: message, ...fields });
}

/** JSON lines on stderr: stdout belongs to the process that hosts the transport. */
export const stderrLogger: TransportLogger = {
  info: (message, fields) => process.stderr.write(line('info', message, fields) + '\n'),
  warn: (message, fields) => process.stderr.write(line('warn', message, fields) + '\n'),
  error: (message, fields) => process.stderr.write(line('error', message, fields) + '\n'),
};

export { errorText } from '../protocol/errors.ts';
