/**
 * Periodic background work (deadline sweep, retention, outbox relay): a chain of timeouts, not an
 * interval, so a slow pass never overlaps the next one; stop() waits for the pass in progress.
 */
import type { Logger } from '../protocol/log.ts';
import { StoreUnavailableError } from './store/index.ts';
import { errorText } from '../protocol/errors.ts';

export interface Loops {
  /** Runs `work` every `ms`, first after `firstAfterMs` (default `ms`). */
  every(ms: number, work: () => Promise<unknown>, what: string, firstAfterMs?: number): void;
  readonly stopped: boolean;
  stop(): Promise<void>;
}

export function backgroundLoops(log: Logger): Loops {
  let stopped = false;
  const loops: Array<{ timer?: NodeJS.Timeout; running: Promise<unknown> }> = [];

  const quietly = (what: string) => (err: unknown) => {
    // An unreachable database is already visible on /ready; repeating it every second is noise.
    if (err instanceof StoreUnavailableError) log.debug(`${what} skipped: ${err.message}`);
    else log.error(`${what} failed: ${errorText(err)}`);
  };

  return {
    every(ms, work, what, firstAfterMs = ms) {
      const loop: { timer?: NodeJS.Timeout; running: Promise<unknown> } = { running: Promise.resolve() };
      const schedule = (delay: number) => {
        if (stopped) return;
        loop.timer = setTimeout(() => {
          loop.running = work().catch(quietly(what)).finally(() => schedule(ms));
        }, delay);
        loop.timer.unref();
      };
      loops.push(loop);
      schedule(firstAfterMs);
    },
    get stopped() {
      return stopped;
    },
    async stop() {
      stopped = true;
      for (const loop of loops) clearTimeout(loop.timer);
      await Promise.all(loops.map((l) => l.running.catch(() => {})));
    },
  };
}
