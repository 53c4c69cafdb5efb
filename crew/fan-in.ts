/**
 * fan-in: the route step that waits for every child of a fan-out and continues with one envelope. The
 * state lives in the gateway's store (POST /envelopes/{id}/fan-in): each arriving child is recorded in one
 * transaction with its final status, and the transaction that completes the fan-in writes the combined
 * envelope (the parent's id, the children's results in fan-out order) to the store's fan-in outbox, from
 * which the gateway publishes it to the step after this one. This handler only reports the arrival, so a
 * crash anywhere here means a redelivery the store recognises. Runs like happy-end (`asya crew fan-in`,
 * envelope mode, validation off, a sidecar in end-actor mode); docs/concepts.md#fan-in has the design.
 * Without a gateway (ASYA_FAN_IN_DATABASE_URL), the state is the actor's own: crew/fan-in-store.ts.
 */
import { fanOutLevels, withoutInnerLevel, type FanInAnswer, type FanInArrival, type FanInPolicy, type PartialResults } from '../protocol/fan-in.ts';
import { queueName, type Envelope, type JsonObject, type JsonValue } from '../protocol/index.ts';
import { fromEnv, pickSettings } from '../settings/index.ts';
import { createTransport } from '../transport/factory.ts';
import type { Transport } from '../transport/transport.ts';
import { CrewConfigError, lazyHandler, type CrewConfig } from './config.ts';
import { startFanInRelay, type FanInRelay } from './fan-in-relay.ts';
import { FanInStore } from './fan-in-store.ts';
import { requireEnvelope, type CrewAnswer } from './happy-end.ts';
import { CREW_SETTINGS } from './settings.ts';

export interface FanInOptions {
  policy: FanInPolicy;
  timeoutMs: number;
  /** The minimal pattern: the fan-in's own PostgreSQL (crew/fan-in-store.ts) instead of the gateway's store. */
  database?: { url: string; schema: string };
  /** Where the minimal pattern's combined envelopes are published. @default the broker of ASYA_TRANSPORT */
  transport?: () => Promise<Transport>;
}

const FAN_IN_SETTINGS = pickSettings(CREW_SETTINGS, ['fanInPolicy', 'fanInTimeoutMs', 'fanInDatabaseUrl', 'fanInDatabaseSchema']);

export function fanInOptionsFromEnv(env: Record<string, string | undefined> = process.env): FanInOptions {
  const values = fromEnv(FAN_IN_SETTINGS, env, { error: (message) => new CrewConfigError(message) });
  const url = values.fanInDatabaseUrl;
  return { policy: values.fanInPolicy, timeoutMs: values.fanInTimeoutMs, ...(url ? { database: { url, schema: values.fanInDatabaseSchema } } : {}) };
}

/** One broker client for the process, opened when the first combined envelope is due. */
function transportFromEnv(): () => Promise<Transport> {
  let opened: Promise<Transport> | undefined;
  return () => {
    opened ??= createTransport(process.env).catch((err: unknown) => {
      opened = undefined;
      throw err;
    });
    return opened;
  };
}

/** Where the combined envelope goes: the step after this one, or happy-end past the route's end. */
export function continuation(envelope: Envelope, happyEnd: string): { route: FanInArrival['route']; queue: string } {
  const { actors, current, metadata } = envelope.route;
  const next = current + 1;
  return {
    route: { actors, current: next, ...(metadata ? { metadata } : {}) },
    queue: queueName(actors[next] ?? happyEnd),
  };
}

/** A single result never fanned out (a handler returned one element): it is a fan-in of one. */
function alone(payload: JsonValue, policy: FanInPolicy): JsonValue {
  if (policy !== 'partial') return [payload];
  const partial: PartialResults = { results: [payload], errors: [] };
  return partial as unknown as JsonValue;
}

export function createFanIn(config: CrewConfig, options: FanInOptions) {
  if (options.database && config.gateway) {
    throw new CrewConfigError('fan-in: set ASYA_GATEWAY_URL (state in the gateway\'s store) or ASYA_FAN_IN_DATABASE_URL (minimal pattern), not both');
  }
  const minimal = options.database ? minimalFanIn(config, options, options.database) : undefined;
  return async function fanIn(value: unknown): Promise<CrewAnswer> {
    const envelope = requireEnvelope(value);
    const actor = envelope.route.actors[envelope.route.current] ?? 'fan-in';
    const { route, queue } = continuation(envelope, config.happyEnd);
    if (minimal) return minimal(envelope, actor, route, queue);
    if (!envelope.parent_id) {
      const combined = { ...envelope, route, payload: alone(envelope.payload, options.policy) } as unknown as JsonObject;
      return { payload: { final_reported: true, publish: [{ queue, envelope: combined }] } };
    }
    if (!config.gateway) {
      throw new CrewConfigError(`${actor} keeps its state in the gateway's store or a database of its own: set ASYA_GATEWAY_URL or ASYA_FAN_IN_DATABASE_URL (docs/concepts.md#fan-in)`);
    }
    const answer = await config.gateway.fanIn(envelope.id, {
      parent_id: envelope.parent_id,
      actor,
      policy: options.policy,
      timeout_ms: options.timeoutMs,
      route,
      queue,
      payload: envelope.payload,
    });
    config.log.debug(`${envelope.id} at ${actor}: ${answer.status}${answer.reason ? ` (${answer.reason})` : ''}`);
    return { payload: { final_reported: true, fan_in: answer.status } };
  };
}

/**
 * Without a gateway: the child's `x-asya-fan-out` header says which fan-out it belongs to; the arrival is
 * recorded in the fan-in's own database and the combined envelope published from its outbox by this process.
 */
function minimalFanIn(config: CrewConfig, options: FanInOptions, database: { url: string; schema: string }) {
  const store = new FanInStore(database.url, database.schema);
  let relay: FanInRelay | undefined;
  return async (envelope: Envelope, actor: string, route: FanInArrival['route'], queue: string): Promise<CrewAnswer> => {
    relay ??= startFanInRelay(store, options.transport ?? transportFromEnv(), config.log);
    const levels = fanOutLevels(envelope.headers);
    if ('error' in levels) throw new Error(`${envelope.id} at ${actor}: ${levels.error}`);
    const level = levels.at(-1);
    if (!level) {
      const combined = { ...envelope, route, payload: alone(envelope.payload, options.policy) } as unknown as JsonObject;
      return { payload: { final_reported: true, publish: [{ queue, envelope: combined }] } };
    }
    const outer = levels.at(-2);
    const headers = withoutInnerLevel(envelope.headers, levels);
    const answer: FanInAnswer = await store.arrive({
      level,
      childId: envelope.id,
      actor,
      policy: options.policy,
      timeoutMs: options.timeoutMs,
      combined: {
        id: level.parent_id,
        ...(outer ? { parent_id: outer.parent_id } : {}),
        route,
        ...(headers ? { headers } : {}),
        ...(envelope.deadline ? { deadline: envelope.deadline } : {}),
      },
      queue,
      payload: envelope.payload,
    });
    const note = `${envelope.id} at ${actor}: ${answer.status}${answer.reason ? ` (${answer.reason})` : ''}`;
    if (answer.status === 'failed') config.log.error(`fan-in of ${level.parent_id} failed, nothing goes on: ${answer.reason ?? ''}`);
    else config.log.debug(note);
    // Published before the child is acked; a failure here is left to the relay loop.
    if (answer.status === 'emitted') await relay.publishDue().catch((err: unknown) => config.log.warn(`${note}; publishing left to the relay: ${String(err)}`));
    return { payload: { final_reported: true, fan_in: answer.status } };
  };
}

export const handle = lazyHandler('fan-in', (config) => createFanIn(config, fanInOptionsFromEnv()));
