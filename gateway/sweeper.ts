/**
 * Background upkeep every replica runs: failing envelopes past their deadline, and deleting final ones
 * past retention. Both are safe to run on every replica at once: the store takes each row with
 * SKIP LOCKED, so an overdue envelope is failed exactly once and no two replicas delete the same rows.
 * Deadlines therefore survive a gateway restart (the original's timers lived in process memory).
 * Pauses past their own timeout are resumed with their default or failed here too (store.expirePauses).
 * Only the deadline counts: an envelope that is saved but not yet published (its gateway died, the broker
 * was away) is not overdue for that; the outbox relay publishes it (outbox.ts) while its deadline lasts.
 */
import type { Logger } from '../protocol/log.ts';
import type { GatewayMetrics } from './metrics.ts';
import { backgroundLoops } from './background.ts';
import type { PayloadStore } from '../payload-store/index.ts';
import type { EnvelopeStore } from './store/index.ts';

export interface SweeperOptions {
  store: EnvelopeStore;
  log: Logger;
  metrics: GatewayMetrics;
  /** @default 1000 */
  sweepIntervalMs?: number;
  /** 0 keeps final envelopes forever. @default 0 */
  retentionMs?: number;
  /** @default 3600000 */
  cleanupIntervalMs?: number;
  /** The payload store: its days older than retention go with their envelopes (docs/payloads.md, "Lifetime"). */
  payloads?: PayloadStore;
}

export interface Sweeper {
  /** One deadline pass now; resolves with the ids it failed, and those whose pause it ended. */
  sweepOnce(): Promise<string[]>;
  stop(): Promise<void>;
}

const BATCH = 100;

export function startSweeper(options: SweeperOptions): Sweeper {
  const { store, log, metrics } = options;
  const sweepMs = options.sweepIntervalMs ?? 1000;
  const retentionMs = options.retentionMs ?? 0;
  const cleanupMs = options.cleanupIntervalMs ?? 3_600_000;
  const loops = backgroundLoops(log);

  const sweepOnce = async (): Promise<string[]> => {
    const failed: string[] = [];
    for (;;) {
      const ids = await store.failOverdue(new Date(), BATCH);
      failed.push(...ids);
      if (ids.length < BATCH || loops.stopped) break;
    }
    if (failed.length > 0) {
      metrics.overdueFailed.inc(failed.length);
      log.info(`failed ${failed.length} envelope(s) past their deadline`);
    }
    const expired = await store.expirePauses(new Date(), BATCH);
    if (expired.length > 0) log.info(`ended ${expired.length} pause(s) past their timeout (default taken, or failed)`);
    return [...failed, ...expired];
  };

  const cleanup = async () => {
    const cutoff = new Date(Date.now() - retentionMs);
    const deleted = await store.deleteOlderThan(cutoff);
    if (deleted > 0) {
      metrics.retentionDeleted.inc(deleted);
      log.info(`deleted ${deleted} final envelope(s) older than retention`);
    }
    if (options.payloads) await deletePayloadDaysBefore(options.payloads, cutoff, log);
  };

  loops.every(sweepMs, sweepOnce, 'deadline sweep');
  if (retentionMs > 0) loops.every(cleanupMs, cleanup, 'retention cleanup');

  return {
    sweepOnce,
    stop: () => loops.stop(),
  };
}

/**
 * Offloaded payloads are kept by day (payload-store/store.ts, payloadKey): a day goes once all of it is past
 * the cutoff, so no object outlives its envelope's retention by more than a day.
 */
export async function deletePayloadDaysBefore(payloads: PayloadStore, cutoff: Date, log: Logger): Promise<number> {
  const cutoffDay = cutoff.toISOString().slice(0, 10);
  let deleted = 0;
  for (const day of await payloads.days()) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || day >= cutoffDay) continue;
    deleted += await payloads.deleteUnder(`${day}/`);
  }
  if (deleted > 0) log.info(`deleted ${deleted} offloaded payload(s) older than retention from ${payloads.location}`);
  return deleted;
}
