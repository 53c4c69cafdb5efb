/**
 * What a process prints without any component asking: Node's own warnings and the report of an error nobody
 * caught. Routed through a component's logger so that, with ASYA_LOG_FORMAT=json, no line of a process
 * escapes as plain text. One handler per process; a later call only changes the logger it writes to.
 */
import { sendSettingsWarningsTo } from '../settings/read.ts';
import { createLogger, type Logger } from './log.ts';
import { logFormatFromEnv, logLevelFromEnv } from './settings.ts';

let target: Logger | undefined;

function onUncaught(err: unknown, origin: string): void {
  const what = origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception';
  target?.error(`${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  // As Node does by default: a process in an unknown state stops.
  process.exit(1);
}

/** Uncaught errors (and unhandled rejections, which Node raises as such) are logged as one ERROR line, then exit 1. */
export function logUncaughtErrors(log: Logger): void {
  if (!target) process.on('uncaughtException', onUncaught);
  target = log;
}

/** Node's warnings (deprecations, experimental features) as WARNING lines instead of its own stderr text. */
export function logProcessWarnings(log: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => log.warn(`${warning.name}: ${warning.message}`, warning.code ? { code: warning.code } : undefined));
}

/**
 * With ASYA_LOG_FORMAT=json, whatever the process prints beside its components' loggers (settings warnings,
 * Node's warnings, an uncaught error) is a JSON line too, from a logger named `name`, which it answers for
 * the process's own last words. Text leaves Node's defaults alone and answers undefined.
 */
export function jsonProcessLog(name: string, env: Record<string, string | undefined>): Logger | undefined {
  if (logFormatFromEnv(env) !== 'json') return undefined;
  const log = createLogger(logLevelFromEnv(env), name, { format: 'json' });
  sendSettingsWarningsTo((message) => log.warn(message));
  logProcessWarnings(log);
  logUncaughtErrors(log);
  return log;
}
