/**
 * A logger that keeps what it is told, so tests can count recoveries (stale acks, reconnects) and see that a
 * component reached a state it only logs (a sidecar waiting for its runtime). It serves as a transport's
 * TransportLogger and as a component's Logger.
 */
import type { Logger } from '../../protocol/index.ts';
import type { TransportLogger } from '../../transport/log.ts';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

export interface CapturingLogger extends TransportLogger, Logger {
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
    // Debug lines are not kept: tests look for what a component reports at INFO and above.
    debug: () => {},
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    matching: (level, prefix) => lines.filter((l) => l.level === level && l.message.startsWith(prefix)),
  };
}
