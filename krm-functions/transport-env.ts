/**
 * How platform transport settings reach a sidecar: the original operator's env names (docs/configuration.md, "Transport"),
 * which transport/factory.ts reads, and the queue names KEDA must watch. Each broker writes its own
 * variables (transport/<broker>/plugin.ts); this adds what every broker shares.
 */
import type { TransportName } from '../api/index.ts';
import { queueName, queuePolicyEnv } from '../protocol/index.ts';
// Not the transport barrel, which carries the broker clients: these modules hold settings and data only.
import { TRANSPORT_SETTINGS } from '../transport/factory.ts';
import { TRANSPORT_PLUGINS } from '../transport/registry.ts';
import { toEnv } from '../settings/index.ts';
import type { PlatformConfig } from './platform-config.ts';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export function transportEnv(transport: TransportName, platform: PlatformConfig): EnvVar[] {
  return [
    ...toEnv(TRANSPORT_SETTINGS, { transport }),
    ...TRANSPORT_PLUGINS[transport].sidecarEnv(platform.transports[transport]),
    ...toEnv(TRANSPORT_SETTINGS, { queuePrefix: platform.queuePrefix || undefined }),
    // The transport's queue policy, so the sidecar declares the queue as the controller does (default: no env).
    ...queuePolicyEnv(platform.transports[transport].queues),
  ];
}

/** The broker-side name of an actor's queue, as the sidecar's transport will name it. */
export function physicalQueueName(actor: string, platform: PlatformConfig): string {
  return platform.queuePrefix + queueName(actor);
}
