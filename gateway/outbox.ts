/**
 * Publishing what the gateway saved, at least once (the transactional outbox). A tool call writes its
 * envelope and an outbox entry in one statement, leased to itself, then publishes at once (the fast path)
 * and deletes the entry when the broker confirms. If the gateway dies before that, or the broker is
 * unreachable, the lease runs out and the relay on any replica publishes the envelope from its stored row.
 *
 * A message can therefore reach the broker twice (the gateway died between the confirm and the delete, or
 * a publish outlived its lease); sidecars and handlers see at-least-once delivery, as from the broker itself.
 */
import type { Envelope } from '../protocol/envelope.ts';
import type { Logger } from '../protocol/log.ts';
import { queueName } from '../protocol/queues.ts';
import { envelopeLogFields } from '../protocol/trace-context.ts';
import { TransportError, type Transport } from '../transport/transport.ts';
import { backgroundLoops } from './background.ts';
import { tracePublish } from './tracing.ts';
import { rfc3339 } from './core/envelope-json.ts';
import type { GatewayMetrics } from './metrics.ts';
import { DEFAULT_OUTBOX_INTERVAL_MS, DEFAULT_OUTBOX_LEASE_MS } from './settings.ts';
import type { EnvelopeRecord, EnvelopeStore } from './store/index.ts';
import { errorText } from '../protocol/errors.ts';
import { relayResumes } from './core/pause.ts';

export { DEFAULT_OUTBOX_INTERVAL_MS, DEFAULT_OUTBOX_LEASE_MS };
const BATCH = 100;

/** The message for an envelope's first actor, rebuilt from its stored row (so the relay needs nothing else). */
export function envelopeMessage(envelope: EnvelopeRecord): { queue: string; body: Buffer } {
  const message: Envelope = {
    id: envelope.id,
    route: {
      actors: envelope.routeActors,
      current: envelope.routeCurrent,
      ...(envelope.routeMetadata ? { metadata: envelope.routeMetadata } : {}),
    },
    ...(envelope.headers ? { headers: envelope.headers } : {}),
    payload: envelope.payload,
    ...(envelope.deadline ? { deadline: rfc3339(envelope.deadline) } : {}),
  };
  const actor = envelope.routeActors[envelope.routeCurrent];
  if (actor === undefined) throw new Error(`envelope ${envelope.id} has no actor at route position ${envelope.routeCurrent}`);
  return { queue: queueName(actor), body: Buffer.from(JSON.stringify(message)) };
}

/** The broker may take it later: keep the entry. Anything else is a refusal that sending again won't change. */
function isTransient(err: unknown): boolean {
  return err instanceof TransportError && (err.reason === 'unavailable' || err.reason === 'closed');
}

/** How the error of an envelope whose publish the transport refused begins. */
export const PUBLISH_REFUSED = 'failed to send envelope';

export type PublishOutcome =
  | { kind: 'published' }
  /** Not confirmed; the outbox publishes it once the lease runs out. */
  | { kind: 'deferred'; error: string }
  /** The transport refused it; the envelope is marked failed with this error. */
  | { kind: 'refused'; error: string };

export interface OutboxDeps {
  store: EnvelopeStore;
  transport: Transport;
  log: Logger;
}

export async function publishSaved(deps: OutboxDeps, envelope: EnvelopeRecord): Promise<PublishOutcome> {
  const { id } = envelope;
  const about = envelopeLogFields(envelope);
  try {
    const { queue, body } = envelopeMessage(envelope);
    await tracePublish({ transportKind: deps.transport.kind, queue, envelopeId: id, headers: envelope.headers }, () => deps.transport.publish(queue, body));
  } catch (err) {
    const reason = errorText(err);
    if (isTransient(err)) {
      deps.log.warn(`${id}: not published yet, the outbox will retry: ${reason}`, about);
      return { kind: 'deferred', error: reason };
    }
    const error = `${PUBLISH_REFUSED}: ${reason}`;
    deps.log.error(`${id}: ${error}`, about);
    await deps.store.setFinal(id, { status: 'failed', error }).catch((e: unknown) => {
      // Its outbox entry stays: the relay tries again, and records the refusal then.
      deps.log.error(`${id}: could not record the publish failure: ${errorText(e)}`, about);
    });
    return { kind: 'refused', error };
  }
  // Not awaited: the caller has its answer once the broker confirmed. A lost delete means one more publish.
  deps.store.markPublished(id).catch((e: unknown) => {
    deps.log.warn(`${id}: published, but its outbox entry stays and it will be published again: ${errorText(e)}`, about);
  });
  return { kind: 'published' };
}

export interface OutboxRelayOptions extends OutboxDeps {
  metrics: GatewayMetrics;
  /** @default DEFAULT_OUTBOX_INTERVAL_MS */
  intervalMs?: number;
  /** @default DEFAULT_OUTBOX_LEASE_MS */
  leaseMs?: number;
}

export interface OutboxRelay {
  /** One pass now: publishes every due entry; resolves with how many were published. */
  relayOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** Runs a pass at once (what a crashed predecessor left is published on startup), then every intervalMs. */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store, log, metrics } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_OUTBOX_LEASE_MS;
  const loops = backgroundLoops(log);

  const relayOnce = async (): Promise<number> => {
    let published = 0;
    for (;;) {
      const due = await store.claimOutbox(leaseMs, BATCH);
      const outcomes = await Promise.all(due.map((envelope) => publishSaved(options, envelope)));
      const sent = outcomes.filter((o) => o.kind === 'published').length;
      const refused = outcomes.filter((o) => o.kind === 'refused').length;
      published += sent;
      metrics.outboxPublished.inc(sent);
      metrics.publishFailures.inc(refused);
      // A deferral means the broker is away: the leases pace the retries, not a tight loop.
      if (due.length < BATCH || loops.stopped || outcomes.some((o) => o.kind === 'deferred')) break;
    }
    // Resumed envelopes (core/pause.ts) are published by the same passes, from their own leases.
    const resumed = await relayResumes(options, leaseMs, BATCH);
    published += resumed;
    metrics.outboxPublished.inc(resumed);
    if (published > 0) log.info(`published ${published} envelope(s) from the outbox`);
    return published;
  };

  loops.every(options.intervalMs ?? DEFAULT_OUTBOX_INTERVAL_MS, relayOnce, 'outbox relay', 0);
  return { relayOnce, stop: () => loops.stop() };
}
