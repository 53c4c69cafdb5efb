/**
 * Progress to the gateway never blocks routing: reports go into a bounded in-memory queue that one worker
 * drains in order. When the gateway is slow or down the queue fills and the oldest progress reports are
 * dropped (counted and logged); fan-out registrations are kept ahead of plain progress. Final reports from end
 * actors are the exception: they are awaited, because the end actor's ack depends on them.
 */
import { gatewayClient, postToGateway, type Logger, type ProgressReport } from '../protocol/index.ts';
import type { FinalReport } from './end-actor.ts';
import type { FanoutChild } from './outcome.ts';
import { errorText } from '../protocol/errors.ts';

export interface ProgressReporter {
  progress(id: string, body: ProgressReport): void;
  child(child: FanoutChild): void;
  /**
   * Resolves once the gateway took the final status, or answered that it never heard of the id; rejects
   * with GatewayUnavailableError while it is not available, and with FinalReportRejectedError if it refuses for good.
   */
  final(id: string, report: FinalReport): Promise<void>;
  /** Resolves when everything queued so far was sent or given up on. */
  flush(): Promise<void>;
  readonly dropped: number;
}

/** Used when no gateway is configured. */
export const noGateway: ProgressReporter = {
  progress() {},
  child() {},
  async final() {},
  async flush() {},
  dropped: 0,
};

interface Job {
  path: string;
  body: unknown;
  important: boolean;
}

export interface HttpReporterOptions {
  url: string;
  token?: string;
  log: Logger;
  maxQueued?: number;
  timeoutMs?: number;
  attempts?: number;
  retryDelayMs?: number;
}

export function httpReporter(options: HttpReporterOptions): ProgressReporter {
  const { url, token, log } = options;
  const maxQueued = options.maxQueued ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const queue: Job[] = [];
  let dropped = 0;
  let running: Promise<void> | undefined;
  let lastWarning = 0;

  const post = async (path: string, body: unknown): Promise<void> => {
    const { status } = await postToGateway(url, path, body, { token, timeoutMs });
    if (status < 200 || status >= 300) throw new Error(`POST ${path} answered ${status}`);
  };
  // Finals follow the same rules as the crew's: retried with backoff, 404 = the gateway never knew the id.
  const finals = gatewayClient({ url, token, log, timeoutMs, attempts: Math.max(attempts, 5), retryDelayMs });

  const withRetries = async (path: string, body: unknown, tries: number): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await post(path, body);
      } catch (err) {
        if (attempt >= tries) throw err;
        await new Promise((r) => setTimeout(r, retryDelayMs * attempt));
      }
    }
  };

  const drain = async () => {
    while (queue.length > 0) {
      const job = queue.shift()!;
      try {
        await withRetries(job.path, job.body, attempts);
      } catch (err) {
        if (Date.now() - lastWarning > 10_000) {
          lastWarning = Date.now();
          log.warn(`Gateway report ${job.path} failed: ${errorText(err)} (routing is not affected)`);
        }
      }
    }
    running = undefined;
  };

  const enqueue = (job: Job) => {
    if (queue.length >= maxQueued) {
      const victim = queue.findIndex((j) => !j.important);
      if (victim < 0 && !job.important) {
        dropped++;
        return;
      }
      queue.splice(victim < 0 ? 0 : victim, 1);
      dropped++;
    }
    queue.push(job);
    running ??= drain();
  };

  return {
    progress(id, body) {
      if (!id) return;
      enqueue({ path: `/envelopes/${encodeURIComponent(id)}/progress`, body, important: false });
    },
    child(child) {
      enqueue({ path: '/envelopes', body: child, important: true });
    },
    async final(id, report) {
      // Progress queued before the final must not arrive after it.
      await (running ?? Promise.resolve());
      await finals.final(id, report);
    },
    async flush() {
      while (running) await running;
    },
    get dropped() {
      return dropped;
    },
  };
}
