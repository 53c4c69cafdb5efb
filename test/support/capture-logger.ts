/** A TransportLogger that keeps what it is told, so tests can count recoveries (stale acks, reconnects). */
import type { TransportLogger } from '../../transport/log.ts';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

export interface CapturingLogger extends TransportLogger {
  readonly lines: LogLine[];
  matching(level: LogLine['level'], prefix: string): LogLine[];
}

export function capturingLogger(options: { echo?: boolean } = {}): CapturingLogger {
  const lines: LogLine[] = [];
  const keep =
    (level: LogLine['level']) =>
    (message: string, fields: Record<string, unknown> = {}): void => {
      lines.push({ level, message, fields });
      if (options.echo || process.env.ASYA_TEST_LOG) process.stderr.write(`[${level}] ${message} ${JSON.stringify(fields)}\n`);
    };
  return {
    lines,
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    matching: (level, prefix) => lines.filter((l) => l.level === level && l.message.startsWith(prefix)),
  };
}
