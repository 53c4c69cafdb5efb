/**
 * Transports report what they recover from (reconnects, stale acks, requeued handler failures) instead of
 * throwing, so the caller's logger has to be pluggable; tests capture these lines to count them.
 */
import { jsonLine, type LogFields } from '../protocol/log.ts';

export interface TransportLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * For a transport made without a logger: JSON lines on stderr (stdout belongs to the process that hosts the
 * transport), in the same shape as ASYA_LOG_FORMAT=json, so they never need a format of their own.
 */
const line = (level: 'INFO' | 'WARNING' | 'ERROR') => (message: string, fields?: LogFields) => void process.stderr.write(`${jsonLine(level, 'asya.transport', message, fields)}\n`);

export const stderrLogger: TransportLogger = { info: line('INFO'), warn: line('WARNING'), error: line('ERROR') };

export { errorText } from '../protocol/errors.ts';
