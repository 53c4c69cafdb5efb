/**
 * Publishing the minimal-pattern fan-in's combined envelopes (crew/fan-in-store.ts) from the fan-in actor's
 * own process: the arrival that completes a fan-in publishes at once; a loop in the background covers what
 * a crash or a failed publish left in the outbox, and settles fan-ins past their timeout. An entry is
 * deleted only after the broker confirmed it, so the publish is at least once, like the gateway's outbox.
 */
import { errorText, type Logger } from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';
import type { FanInStore } from './fan-in-store.ts';

/** How often the background pass runs; an entry claimed by a publisher that died is due again after the lease. */
const RELAY_INTERVAL_MS = 1_000;
const RELAY_LEASE_MS = 30_000;

export interface FanInRelay {
  /** Publishes every due combined envelope; resolves with how many the broker confirmed. */
  publishDue(): Promise<number>;
  stop(): void;
}

export function startFanInRelay(store: FanInStore, transport: () => Promise<Transport>, log: Logger): FanInRelay {
  const publishDue = async (): Promise<number> => {
    const due = await store.claimOutbox(RELAY_LEASE_MS);
    if (due.length === 0) return 0;
    const broker = await transport();
    let published = 0;
    for (const message of due) {
      try {
        await broker.publish(message.queue, message.body);
      } catch (err) {
        log.warn(`combined envelope ${message.parentId} not published yet, retried after its lease: ${errorText(err)}`);
        continue;
      }
      published++;
      await store.markPublished(message.parentId).catch((err: unknown) => {
        log.warn(`combined envelope ${message.parentId} published, but it stays in the outbox and will be published again: ${errorText(err)}`);
      });
    }
    return published;
  };
  let running = false;
  const pass = async () => {
    if (running) return;
    running = true;
    try {
      const settled = await store.expire();
      if (settled.length > 0) log.info(`fan-in timeout: settled ${settled.join(', ')}`);
      await publishDue();
    } catch (err) {
      log.warn(`fan-in relay pass failed, tried again in ${RELAY_INTERVAL_MS} ms: ${errorText(err)}`);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void pass(), RELAY_INTERVAL_MS);
  // The runtime's life is its socket's, not this loop's.
  timer.unref();
  void pass();
  return { publishDue, stop: () => clearInterval(timer) };
}
