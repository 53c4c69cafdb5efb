/**
 * Every broker Asya deploys on, by name: a Record over protocol's TRANSPORT_NAMES, so a new name does not
 * compile until its plugin is here, and every place that handles brokers looks them up in this table instead
 * of branching on names. The plugins hold only settings and data functions; each loads its client on connect.
 */
import { z } from 'zod';
import { TRANSPORT_NAMES, type TransportName } from '../protocol/transports.ts';
import { natsPlugin } from './nats/plugin.ts';
import type { TransportPlugin } from './plugin.ts';
import { rabbitmqPlugin } from './rabbitmq/plugin.ts';
import { sqsPlugin } from './sqs/plugin.ts';

const PLUGINS = {
  rabbitmq: rabbitmqPlugin,
  sqs: sqsPlugin,
  nats: natsPlugin,
} satisfies Record<TransportName, TransportPlugin>;

/** Each plugin is typed by its own settings; callers hand it its slice of the platform settings by name. */
export const TRANSPORT_PLUGINS: Record<TransportName, TransportPlugin> = PLUGINS;

export { TRANSPORT_NAMES, type TransportName };

type PlatformShape = { [K in TransportName]: z.ZodPrefault<(typeof PLUGINS)[K]['platformSchema']> };

/** AsyaPlatform `spec.transports`: one block per broker, each with its defaults. */
export const transportsPlatformSchema = z.strictObject(
  Object.fromEntries(TRANSPORT_NAMES.map((name) => [name, (PLUGINS[name].platformSchema as z.ZodObject).prefault({})])) as PlatformShape,
);
export type TransportsPlatformConfig = z.output<typeof transportsPlatformSchema>;
