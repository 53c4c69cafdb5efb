/**
 * An end actor whose gateway is not available holds the delivery and tries again, instead of requeueing it:
 * every requeue counts toward the queue's delivery limit, so a long gateway (or database) outage would
 * otherwise push finished envelopes into the DLQ. The hold is bounded, because the broker takes back a
 * delivery held past its processing timeout (and counts that too): when the bound or a drain comes, the
 * delivery is given back as a fresh copy of itself (see Router.giveBack), which starts its count again.
 */
import { sleep } from '../protocol/index.ts';

/** Returned by an attempt that met an unavailable gateway. */
export class GatewayAway {
  constructor(readonly reason: string) {}
}

export interface GiveBack {
  giveBack: string;
}

export interface GatewayHoldOptions {
  /** How long one delivery may be held, from its first attempt. */
  limitMs: number;
  /** Pauses between attempts; the last one repeats. */
  backoffMs: readonly number[];
  stopping: AbortSignal;
  now: () => number;
  /** Called after each attempt that met an unavailable gateway. */
  onAway(reason: string, attempt: number): void;
}

/** Runs `attempt` until it no longer meets an unavailable gateway, or the hold is over. */
export async function holdWhileGatewayAway<T>(attempt: () => Promise<T | GatewayAway>, options: GatewayHoldOptions): Promise<T | GiveBack> {
  const started = options.now();
  for (let n = 0; ; n++) {
    const result = await attempt();
    if (!(result instanceof GatewayAway)) return result;
    options.onAway(result.reason, n);
    const wait = options.backoffMs[Math.min(n, options.backoffMs.length - 1)]!;
    if (options.stopping.aborted || options.now() - started + wait >= options.limitMs) return { giveBack: result.reason };
    await sleep(wait, options.stopping);
    if (options.stopping.aborted) return { giveBack: result.reason };
  }
}
