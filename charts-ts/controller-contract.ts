/**
 * How the controller chart talks to `asya controller`: the env names, port and paths of controller/config.ts
 * and controller/controller.ts, in one place so the two sides can be lined up by reading one file.
 */
export const CONTROLLER_ENV = {
  /** File holding an AsyaPlatform resource: the functionConfig the controller passes to the KRM functions. */
  platformConfig: 'ASYA_PLATFORM_CONFIG',
  /** Comma-separated namespaces to watch; unset: all namespaces. */
  watchNamespaces: 'ASYA_WATCH_NAMESPACES',
  leaderElection: 'ASYA_LEADER_ELECTION',
  leaseName: 'ASYA_LEADER_ELECTION_LEASE',
  /** The Lease's namespace (the controller's own) and the holder identity, from the downward API. */
  podNamespace: 'POD_NAMESPACE',
  podName: 'POD_NAME',
  /** One listener serves /metrics, /healthz and /readyz. */
  metricsAddr: 'ASYA_METRICS_ADDR',
  /** "true": the controller neither creates nor deletes queues. */
  disableQueueManagement: 'ASYA_DISABLE_QUEUE_MANAGEMENT',
  /** "never": deleting an actor keeps its queue (queues shared across clusters); default "delete". */
  queueDeletion: 'ASYA_QUEUE_DELETION',
} as const;

export const CONTROLLER_PORT = 8080;
export const CONTROLLER_LIVENESS_PATH = '/healthz';
export const CONTROLLER_READINESS_PATH = '/readyz';
export const PLATFORM_CONFIG_DIR = '/etc/asya/platform';
export const PLATFORM_CONFIG_FILE = 'platform.yaml';
