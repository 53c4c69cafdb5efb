/**
 * Background upkeep every replica runs: failing envelopes past their deadline, and deleting final ones
 * past retention. Both are safe to run on every replica at once: the store takes each row with
 * SKIP LOCKED, so an overdue envelope is failed exactly once and no two replicas delete the same rows.
 * Deadlines therefore survive a gateway restart (the original's timers lived in process memory).
 * Only the deadline counts: an envelope that is saved but not yet published (its gateway died, the broker
 * was away) is not overdue for that; the outbox relay publishes it (outbox.ts) while its deadline lasts.
 */
import type { Logger } from '../protocol/log.ts';
import type { GatewayMetrics } from './metrics.ts';
import { backgroundLoops } from './background.ts';
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
}

export interface Sweeper {
  /** One deadline pass now; resolves with the ids it failed. */
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
    return failed;
  };

  const cleanup = async () => {
    const deleted = await store.deleteOlderThan(new Date(Date.now() - retentionMs));
    if (deleted > 0) {
      metrics.retentionDeleted.inc(deleted);
      log.info(`deleted ${deleted} final envelope(s) older than retention`);
    }
  };

  loops.every(sweepMs, sweepOnce, 'deadline sweep');
  if (retentionMs > 0) loops.every(cleanupMs, cleanup, 'retention cleanup');

  return {
    sweepOnce,
    stop: () => loops.stop(),
  };
}
