/**
 * Publishing combined fan-in envelopes from the fan-in outbox (migration 010): what the store wrote in
 * the transaction that completed a fan-in goes to the broker at least once. A pass leases due entries
 * (one publisher per entry and lease, on any number of replicas), publishes each and deletes it once the
 * broker confirmed; an entry whose publish failed stays, and the next pass after its lease tries again.
 * The arrival that completed a fan-in runs a pass at once, so the background loop only covers crashes,
 * failed publishes and fan-ins completed by a failed child's final report or a timeout.
 */
import type { Logger } from '../protocol/log.ts';
import { errorText } from '../protocol/errors.ts';
import type { Transport } from '../transport/transport.ts';
import { backgroundLoops } from './background.ts';
import { DEFAULT_OUTBOX_INTERVAL_MS, DEFAULT_OUTBOX_LEASE_MS } from './settings.ts';
import type { EnvelopeStore } from './store/index.ts';

export interface FanInRelayDeps {
  store: EnvelopeStore;
  transport: Transport;
  log: Logger;
  /** @default DEFAULT_OUTBOX_LEASE_MS */
  leaseMs?: number;
}

/** One pass: publishes every due combined envelope; resolves with how many the broker confirmed. */
export async function publishCombined(deps: FanInRelayDeps): Promise<number> {
  const due = await deps.store.fanIns.claimOutbox(deps.leaseMs ?? DEFAULT_OUTBOX_LEASE_MS, 100);
  let published = 0;
  for (const message of due) {
    try {
      await deps.transport.publish(message.queue, message.body);
    } catch (err) {
      deps.log.warn(`combined envelope ${message.parentId} not published yet, retried after its lease: ${errorText(err)}`);
      continue;
    }
    published++;
    await deps.store.fanIns.markPublished(message.parentId).catch((err: unknown) => {
      deps.log.warn(`combined envelope ${message.parentId} published, but it stays in the outbox and will be published again: ${errorText(err)}`);
    });
  }
  if (published > 0) deps.log.info(`published ${published} combined fan-in envelope(s) to ${[...new Set(due.map((m) => m.queue))].join(', ')}`);
  return published;
}

export interface FanInRelay {
  relayOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** The background relay and the fan-in timeouts, every intervalMs on every replica. */
export function startFanInRelay(deps: FanInRelayDeps & { intervalMs?: number }): FanInRelay {
  const loops = backgroundLoops(deps.log);
  const relayOnce = () => publishCombined(deps);
  loops.every(deps.intervalMs ?? DEFAULT_OUTBOX_INTERVAL_MS, relayOnce, 'fan-in relay', 0);
  loops.every(deps.intervalMs ?? DEFAULT_OUTBOX_INTERVAL_MS, async () => {
    const settled = await deps.store.fanIns.expire();
    if (settled.length > 0) {
      deps.log.info(`fan-in timeout: settled ${settled.join(', ')}`);
      await relayOnce();
    }
  }, 'fan-in timeouts');
  return { relayOnce, stop: () => loops.stop() };
}
