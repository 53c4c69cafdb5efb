/** Node runtime settings, declared with the Python runtime's in runtime/settings.ts. */
import { join } from 'node:path';
import { READY_FILE } from '../../protocol/socket-dir.ts';
import { fromEnv, type Settings } from '../../settings/index.ts';
import { NODE_RUNTIME_SETTINGS } from '../settings.ts';

export type HandlerMode = RuntimeConfig['mode'];

export type RuntimeConfig = Settings<typeof NODE_RUNTIME_SETTINGS> & { socketPath: string; readyFile: string };

export class RuntimeConfigError extends Error {
  override readonly name = 'RuntimeConfigError';
}

type Env = Record<string, string | undefined>;

export function loadRuntimeConfig(env: Env = process.env): RuntimeConfig {
  const settings = fromEnv(NODE_RUNTIME_SETTINGS, env, { error: (message) => new RuntimeConfigError(message) });
  return { ...settings, socketPath: join(settings.socketDir, settings.socketName), readyFile: join(settings.socketDir, READY_FILE) };
}
