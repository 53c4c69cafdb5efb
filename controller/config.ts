/** `asya controller` settings from the environment, as declared in controller/settings.ts. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import YAML from 'yaml';
import { envName, fromEnv, type Settings } from '../settings/index.ts';
import { CONTROLLER_SETTINGS } from './settings.ts';
import { errorText } from '../protocol/errors.ts';

/** The values as the table reads them: a change of a declaration is a type change here. */
type Read = Settings<typeof CONTROLLER_SETTINGS>;

/** The controller's settings, grouped by what uses them; each field's type is its declaration's. */
export interface ControllerConfig {
  /** Namespaces to watch; empty: all. */
  namespaces: Read['namespaces'];
  /** The KRM functions' functionConfig (an AsyaPlatform resource or a ConfigMap), from ASYA_PLATFORM_CONFIG. */
  platform: unknown;
  /** Not ASYA_DISABLE_QUEUE_MANAGEMENT. */
  manageQueues: Read['disableQueueManagement'];
  leaderElection: {
    enabled: Read['leaderElection'];
    /** ASYA_LEADER_ELECTION_NAMESPACE, else POD_NAMESPACE, else `asya`. */
    namespace: NonNullable<Read['leaseNamespace'] | Read['podNamespace']>;
    name: Read['leaseName'];
    /** POD_NAME, else `<hostname>-<pid>`. */
    identity: NonNullable<Read['podName']>;
    leaseDurationSeconds: Read['leaseDurationSeconds'];
    retryPeriodMs: Read['leaseRetryPeriodMs'];
  };
  metricsAddr: Read['metricsAddr'];
  concurrency: Read['concurrency'];
  resyncMs: Read['resyncMs'];
  backoff: { baseMs: Read['backoffBaseMs']; maxMs: Read['backoffMaxMs'] };
  kubeApiUrl?: Read['kubeApiUrl'];
  logLevel: Read['logLevel'];
  logFormat: Read['logFormat'];
}

export class ControllerConfigError extends Error {
  override readonly name = 'ControllerConfigError';
}

type Env = Record<string, string | undefined>;

const PLATFORM_CONFIG = envName(CONTROLLER_SETTINGS, 'platformConfig');

function readPlatform(path: string | undefined): unknown {
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ControllerConfigError(`${PLATFORM_CONFIG}: cannot read ${path}: ${errorText(err)}`);
  }
  try {
    return YAML.parse(text) as unknown;
  } catch (err) {
    throw new ControllerConfigError(`${PLATFORM_CONFIG}: ${path} is not valid YAML: ${errorText(err)}`);
  }
}

export function loadControllerConfig(env: Env = process.env): ControllerConfig {
  const settings = fromEnv(CONTROLLER_SETTINGS, env, { error: (message) => new ControllerConfigError(message) });
  return {
    namespaces: settings.namespaces,
    platform: readPlatform(settings.platformConfig),
    manageQueues: !settings.disableQueueManagement,
    leaderElection: {
      enabled: settings.leaderElection,
      namespace: settings.leaseNamespace ?? settings.podNamespace ?? 'asya',
      name: settings.leaseName,
      identity: settings.podName ?? `${hostname()}-${process.pid}`,
      leaseDurationSeconds: settings.leaseDurationSeconds,
      retryPeriodMs: settings.leaseRetryPeriodMs,
    },
    metricsAddr: settings.metricsAddr,
    concurrency: settings.concurrency,
    resyncMs: settings.resyncMs,
    backoff: { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs },
    ...(settings.kubeApiUrl ? { kubeApiUrl: settings.kubeApiUrl } : {}),
    logLevel: settings.logLevel,
    logFormat: settings.logFormat,
  };
}
