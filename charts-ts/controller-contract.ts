/**
 * How the controller chart talks to `asya controller` (controller/, built alongside): the env names, ports
 * and paths the Deployment sets. Kept in one place so the two sides can be lined up by reading one file.
 */
export const CONTROLLER_ENV = {
  /** File holding an AsyaPlatform resource: the functionConfig the controller passes to the KRM functions. */
  platformConfig: 'ASYA_PLATFORM_CONFIG',
  /** Comma-separated namespaces to watch; unset: all namespaces. */
  watchNamespaces: 'ASYA_WATCH_NAMESPACES',
  leaderElect: 'ASYA_LEADER_ELECT',
  leaseName: 'ASYA_LEASE_NAME',
  leaseNamespace: 'ASYA_LEASE_NAMESPACE',
  /** The Lease holder identity. */
  podName: 'ASYA_POD_NAME',
  metricsAddr: 'ASYA_METRICS_ADDR',
  healthAddr: 'ASYA_HEALTH_ADDR',
  /** "false": a finalized actor leaves its queue in place (queues shared across clusters). */
  queueDeletion: 'ASYA_QUEUE_DELETION',
} as const;

export const CONTROLLER_METRICS_PORT = 8080;
export const CONTROLLER_HEALTH_PORT = 8081;
export const CONTROLLER_LIVENESS_PATH = '/healthz';
export const CONTROLLER_READINESS_PATH = '/readyz';
export const PLATFORM_CONFIG_DIR = '/etc/asya/platform';
export const PLATFORM_CONFIG_FILE = 'platform.yaml';
