/** `asya controller` settings from the environment (docs/controller.md lists them). */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import YAML from 'yaml';
import { parseDuration, parseLogLevel, type LogLevel } from '../protocol/index.ts';

export interface ControllerConfig {
  /** Namespaces to watch; empty: all. */
  namespaces: string[];
  /** The KRM functions' functionConfig (an AsyaPlatform resource or a ConfigMap), from ASYA_PLATFORM_CONFIG. */
  platform: unknown;
  manageQueues: boolean;
  leaderElection: { enabled: boolean; namespace: string; name: string; identity: string; leaseDurationSeconds: number; retryPeriodMs: number };
  metricsAddr: { host?: string; port: number };
  concurrency: number;
  resyncMs: number;
  backoff: { baseMs: number; maxMs: number };
  kubeApiUrl?: string;
  logLevel: LogLevel;
}

export class ControllerConfigError extends Error {
  override readonly name = 'ControllerConfigError';
}

type Env = Record<string, string | undefined>;

function positive(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ControllerConfigError(`${key}=${JSON.stringify(raw)} must be a positive integer`);
  return n;
}

function duration(env: Env, key: string, fallback: string): number {
  try {
    return parseDuration(env[key] || fallback, key);
  } catch (err) {
    throw new ControllerConfigError((err as Error).message);
  }
}

function readPlatform(path: string | undefined): unknown {
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ControllerConfigError(`ASYA_PLATFORM_CONFIG: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return YAML.parse(text) as unknown;
  } catch (err) {
    throw new ControllerConfigError(`ASYA_PLATFORM_CONFIG: ${path} is not valid YAML: ${(err as Error).message}`);
  }
}

export function loadControllerConfig(env: Env = process.env): ControllerConfig {
  const addr = env.ASYA_METRICS_ADDR || ':8080';
  const match = /^(?<host>[^:]*):(?<port>\d+)$/.exec(addr);
  if (!match?.groups) throw new ControllerConfigError(`ASYA_METRICS_ADDR=${JSON.stringify(addr)}: expected [host]:port, e.g. :8080`);
  return {
    namespaces: (env.ASYA_WATCH_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    platform: readPlatform(env.ASYA_PLATFORM_CONFIG),
    manageQueues: env.ASYA_DISABLE_QUEUE_MANAGEMENT !== 'true',
    leaderElection: {
      enabled: env.ASYA_LEADER_ELECTION !== 'false',
      namespace: env.ASYA_LEADER_ELECTION_NAMESPACE || env.POD_NAMESPACE || 'asya',
      name: env.ASYA_LEADER_ELECTION_LEASE || 'asya-controller',
      identity: env.POD_NAME || `${hostname()}-${process.pid}`,
      leaseDurationSeconds: positive(env, 'ASYA_LEASE_DURATION_SECONDS', 15),
      retryPeriodMs: duration(env, 'ASYA_LEASE_RETRY_PERIOD', '2s'),
    },
    metricsAddr: { ...(match.groups.host ? { host: match.groups.host } : {}), port: Number(match.groups.port) },
    concurrency: positive(env, 'ASYA_MAX_CONCURRENT_RECONCILES', 10),
    resyncMs: duration(env, 'ASYA_RESYNC_INTERVAL', '60s'),
    backoff: { baseMs: duration(env, 'ASYA_RETRY_BASE_DELAY', '1s'), maxMs: duration(env, 'ASYA_RETRY_MAX_DELAY', '5m') },
    ...(env.ASYA_KUBE_API_URL ? { kubeApiUrl: env.ASYA_KUBE_API_URL } : {}),
    logLevel: parseLogLevel(env.ASYA_LOG_LEVEL ?? 'INFO'),
  };
}
