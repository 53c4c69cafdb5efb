/** Sidecar settings from the environment, as declared in sidecar/settings.ts, plus what follows from them. */
import { join } from 'node:path';
import { isEndActor, queuePolicyOf, READY_FILE, RESTART_MARKER, SOCKET_NAME, type QueuePolicy } from '../protocol/index.ts';
import { fromEnv, type FromEnvOptions, type Settings } from '../settings/index.ts';
import { SIDECAR_SETTINGS } from './settings.ts';

export type { CustomMetric } from './settings.ts';

export type SidecarConfig = Settings<typeof SIDECAR_SETTINGS> & {
  isEndActor: boolean;
  socketPath: string;
  readyFile: string;
  /** Written when a hung runtime must be restarted; the runtime container's liveness probe fails on it. */
  restartMarker: string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** The queue policy the sidecar's own settings carry (ASYA_QUEUE_*), read once with the rest of them. */
export function queuePolicyOfConfig(config: SidecarConfig): QueuePolicy {
  return queuePolicyOf({ autoCreate: config.queueAutoCreate, maxDeliveries: config.queueMaxDeliveries, dlqRetentionDays: config.queueDlqRetentionDays });
}

export function loadSidecarConfig(env: Env = process.env, options: Pick<FromEnvOptions, 'warn'> = {}): SidecarConfig {
  const settings = fromEnv(SIDECAR_SETTINGS, env, { ...options, error: (message) => new ConfigError(message) });
  const { socketDir, actorName } = settings;
  return {
    ...settings,
    isEndActor: settings.isEndActor ?? isEndActor(actorName, settings),
    socketPath: join(socketDir, SOCKET_NAME),
    readyFile: join(socketDir, READY_FILE),
    restartMarker: join(socketDir, RESTART_MARKER),
  };
}
