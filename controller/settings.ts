/**
 * `asya controller`'s settings, declared once: controller/config.ts reads them, the controller chart writes
 * them, docs/configuration.md shows them. The original operator's own variables are listed as retired.
 */
import { describedAs, duration, int, list, literalBool, oneOf, settingsTable, string, stringKind, url } from '../settings/index.ts';
import { LOG_FORMAT, LOG_LEVEL, METRICS_ADDR } from '../protocol/settings.ts';

/** What deleting an AsyncActor does to its queue (controller/queue-deletion.ts). */
export const QUEUE_DELETION = ['delete', 'never'] as const;

const runtimeConfigMap = 'the runtime comes with the image; there is no runtime ConfigMap any more';

export const CONTROLLER_SETTINGS = settingsTable(
  'controller',
  {
    namespaces: list(stringKind, { env: 'ASYA_WATCH_NAMESPACES', doc: 'comma-separated namespaces to watch', default: [], defaultDoc: 'all' }),
    platformConfig: string({
      env: 'ASYA_PLATFORM_CONFIG',
      doc: 'path of a YAML file with the platform settings the KRM functions take (an `AsyaPlatform` resource or a ConfigMap)',
    }),
    disableQueueManagement: literalBool({
      env: 'ASYA_DISABLE_QUEUE_MANAGEMENT',
      doc: "`true`: leave queues to the sidecars, which declare their own (the original operator's switch)",
      default: false,
      defaultDoc: 'unset',
      literal: 'true',
    }),
    queueDeletion: oneOf(QUEUE_DELETION, {
      env: 'ASYA_QUEUE_DELETION',
      doc: '`never`: deleting an actor keeps its queue, for queues several clusters share ([controller.md](controller.md)); `delete`: the queue goes with the actor, as in the original',
      default: 'delete',
    }),
    leaderElection: literalBool({ env: 'ASYA_LEADER_ELECTION', doc: '`false`: no Lease, for a single replica', default: true, literal: 'false' }),
    leaseNamespace: string({ env: 'ASYA_LEADER_ELECTION_NAMESPACE', doc: 'namespace of the Lease', defaultDoc: '`POD_NAMESPACE`, else `asya`' }),
    leaseName: string({ env: 'ASYA_LEADER_ELECTION_LEASE', doc: "name of the Lease; the holder's identity is `POD_NAME`", default: 'asya-controller' }),
    podNamespace: string({ env: 'POD_NAMESPACE', doc: "the controller's own namespace (the chart sets it from the downward API)" }),
    podName: string({ env: 'POD_NAME', doc: "the controller pod's name, its identity as Lease holder (downward API)", defaultDoc: '`<hostname>-<pid>`' }),
    leaseDurationSeconds: int({ env: 'ASYA_LEASE_DURATION_SECONDS', doc: 'a leader that has not renewed for this long loses the Lease', default: 15, min: 1 }),
    leaseRetryPeriodMs: duration({ env: 'ASYA_LEASE_RETRY_PERIOD', doc: 'how often the Lease is renewed or tried', default: '2s' }),
    concurrency: int({ env: 'ASYA_MAX_CONCURRENT_RECONCILES', doc: 'actors reconciled at once', default: 10, min: 1 }),
    resyncMs: duration({ env: 'ASYA_RESYNC_INTERVAL', doc: 'every actor is reconciled again this often (status refresh)', default: '60s' }),
    backoffBaseMs: duration({ env: 'ASYA_RETRY_BASE_DELAY', doc: 'first backoff after a failed reconcile', default: '1s' }),
    backoffMaxMs: duration({ env: 'ASYA_RETRY_MAX_DELAY', doc: 'longest backoff after failed reconciles', default: '5m' }),
    metricsAddr: describedAs(METRICS_ADDR, { doc: '`/metrics`, `/healthz`, `/readyz`' }),
    kubeApiUrl: url({ env: 'ASYA_KUBE_API_URL', doc: 'the API server to talk to', defaultDoc: 'in-cluster, else `~/.kube/config`' }),
    logLevel: LOG_LEVEL,
    logFormat: LOG_FORMAT,
  },
  [
    { env: 'ASYA_TRANSPORT_CONFIG', action: 'refuse', reason: 'put the transports in the platform file that `ASYA_PLATFORM_CONFIG` names' },
    { env: 'ASYA_SIDECAR_IMAGE', action: 'refuse', reason: 'the sidecar image is `sidecar.image` in the platform file that `ASYA_PLATFORM_CONFIG` names' },
    { env: 'ASYA_QUEUE_HEALTH_CHECK_INTERVAL', action: 'warn', reason: 'every actor, its queue included, is reconciled again each `ASYA_RESYNC_INTERVAL`' },
    { env: 'ASYA_RUNTIME_NAMESPACE', action: 'warn', reason: runtimeConfigMap },
    { env: 'ASYA_RUNTIME_SCRIPT_PATH', action: 'warn', reason: runtimeConfigMap },
  ],
);
