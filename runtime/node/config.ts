/** Runtime settings, read from the same env vars as the original Python runtime (docs/runtimes.md, "Environment"). */
import { join } from 'node:path';
import { DEFAULT_MAX_FRAME_BYTES, parseLogLevel, type LogLevel } from '../../protocol/index.ts';

export type HandlerMode = 'payload' | 'envelope';

export interface RuntimeConfig {
  handler: string;
  mode: HandlerMode;
  socketDir: string;
  socketPath: string;
  readyFile: string;
  /** undefined = leave the mode the umask gives. */
  socketMode?: number;
  validate: boolean;
  maxFrameBytes: number;
  logLevel: LogLevel;
}

export class RuntimeConfigError extends Error {
  override readonly name = 'RuntimeConfigError';
}

type Env = Record<string, string | undefined>;

export function loadRuntimeConfig(env: Env = process.env): RuntimeConfig {
  const handler = env.ASYA_HANDLER ?? '';
  if (!handler) {
    throw new RuntimeConfigError(
      'ASYA_HANDLER not set: give the asya-runtime container of the AsyncActor an env entry ASYA_HANDLER=<file>#<export> (or <file>#<Class>.<method>)',
    );
  }
  const mode = (env.ASYA_HANDLER_MODE || 'payload').toLowerCase();
  if (mode !== 'payload' && mode !== 'envelope') {
    throw new RuntimeConfigError(`Invalid ASYA_HANDLER_MODE=${mode}: not in ('payload', 'envelope')`);
  }
  const socketDir = env.ASYA_SOCKET_DIR || '/var/run/asya';
  const socketName = env.ASYA_SOCKET_NAME || 'asya-runtime.sock';
  return {
    handler,
    mode,
    socketDir,
    socketPath: join(socketDir, socketName),
    readyFile: join(socketDir, 'runtime-ready'),
    socketMode: parseSocketMode(env.ASYA_SOCKET_CHMOD ?? '0o660'),
    validate: (env.ASYA_ENABLE_VALIDATION ?? 'true').toLowerCase() === 'true',
    maxFrameBytes: parsePositiveInt(env.ASYA_MAX_FRAME_BYTES, DEFAULT_MAX_FRAME_BYTES, 'ASYA_MAX_FRAME_BYTES'),
    logLevel: parseLogLevel(env.ASYA_LOG_LEVEL),
  };
}

/** Accepts "0o660", "0660" and "660" like Python's int(x, 8); empty means "do not chmod". */
export function parseSocketMode(raw: string): number | undefined {
  if (raw.trim() === '') return undefined;
  const digits = raw.trim().replace(/^0o/i, '');
  if (!/^[0-7]{1,4}$/.test(digits)) throw new RuntimeConfigError(`Invalid ASYA_SOCKET_CHMOD=${raw}: expected an octal mode such as 0o660`);
  return parseInt(digits, 8);
}

export function parsePositiveInt(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new RuntimeConfigError(`Invalid ${name}=${raw}: expected a positive integer`);
  return value;
}

