/**
 * What a broker brings to Asya besides its Transport: its environment settings (read by the sidecar, the
 * gateway, the crew and the controller), its platform settings (AsyaPlatform `spec.transports.<name>`), the
 * environment inject-sidecar writes from them, and the KEDA trigger keda-scaler emits. Everything here is
 * data in, data out: krm-functions imports it; nothing here imports krm-functions or api.
 */
import type { z } from 'zod';
import type { Env, SettingsTable } from '../settings/index.ts';
import type { TransportLogger } from './log.ts';
import type { Transport } from './transport.ts';

/** A container env entry: a literal, or a key of a Secret. */
export interface PodEnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** The part of an AsyncActor's `spec.scaling` a trigger depends on. */
export interface ScalingInput {
  queueLength: number;
  activationQueueLength?: number | undefined;
  countInFlight: boolean;
  countDelayed: boolean;
}

/** A KEDA trigger without its name; `auth` is the spec of the TriggerAuthentication it needs, if any. */
export interface KedaTrigger {
  type: string;
  metadata: Record<string, string>;
  auth?: Record<string, unknown>;
}

export interface ReadOptions {
  /** Where deprecation and fallback warnings go. */
  warn?: (message: string) => void;
}

/**
 * `Platform` is the broker's platform settings after parsing; `Options` what its transport's constructor takes.
 * Methods (not function-valued properties) so that a plugin of specific types fits the registry's record.
 */
export interface TransportPlugin<Platform = unknown, Options = unknown> {
  /** For messages and docs ("RabbitMQ"). */
  readonly label: string;
  /** The environment the transport reads, declared once (docs/configuration.md is rendered from it). */
  readonly settings: SettingsTable;
  /** AsyaPlatform `spec.transports.<name>`; every field has a default or is optional. */
  readonly platformSchema: z.ZodType<Platform>;
  optionsFromEnv(env: Env, options?: ReadOptions): Options;
  /** Loads the broker's client on demand: a sidecar on one broker does not pay for another's SDK. */
  connect(options: Options, logger?: TransportLogger): Promise<Transport>;
  /** The variables inject-sidecar (and the controller chart) write so that optionsFromEnv reads `platform`. */
  sidecarEnv(platform: Platform): PodEnvVar[];
  /** The trigger that scales an actor on `queue` (the physical name), or why it cannot be built. */
  kedaTrigger(queue: string, scaling: ScalingInput, platform: Platform): KedaTrigger | { error: string };
  /** A warning about the platform settings for this scaling (once per run), if any. */
  kedaWarning?(scaling: ScalingInput, platform: Platform): string | undefined;
  /** An IAM role the actor's pods run as (IRSA), when the platform sets one. */
  workloadRoleArn?(platform: Platform): string | undefined;
}

export const literalEnv = (name: string, value: string): PodEnvVar => ({ name, value });
export const secretEnv = (name: string, ref: SecretKeyRef): PodEnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
export const secretTarget = (parameter: string, ref: SecretKeyRef) => ({ parameter, name: ref.name, key: ref.key });
