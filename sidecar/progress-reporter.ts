/**
 * Progress to the gateway never blocks routing: reports go into a bounded in-memory queue that a few workers
 * drain. When the gateway is slow or down the queue fills and the oldest progress reports are dropped (counted
 * and logged); fan-out registrations are kept ahead of plain progress. Final reports from end actors are the
 * exception: they are awaited, because the end actor's ack depends on them.
 *
 * Progress is coalesced, so that it does not cost more than the work it describes: a report waits for the
 * next turn of the event loop before it leaves, and a newer report for the same envelope replaces one still
 * waiting (the envelope's latest state is what the gateway shows; each report it stores is one row and one
 * NOTIFY). So `received` and `processing`, reported in the same turn, leave as one `processing`, and under
 * load a hop's `completed` replaces the `processing` the gateway has not been sent yet. Reports for
 * different envelopes leave in parallel, up to `maxInFlight` at once, which lets the gateway commit them
 * together; one envelope's reports leave one at a time, in order, so the gateway never sees them reversed.
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
  /** The envelope a progress report is about; registrations have none and are never merged. */
  envelopeId?: string;
}

export interface HttpReporterOptions {
  url: string;
  token?: string;
  log: Logger;
  maxQueued?: number;
  /** Reports on their way at once, each about a different envelope. @default 4 */
  maxInFlight?: number;
  timeoutMs?: number;
  attempts?: number;
  retryDelayMs?: number;
}

export function httpReporter(options: HttpReporterOptions): ProgressReporter & { readonly coalesced: number } {
  const { url, token, log } = options;
  const maxQueued = options.maxQueued ?? 10_000;
  const maxInFlight = options.maxInFlight ?? 4;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const queue: Job[] = [];
  /** The waiting (not yet sent) progress report of each envelope. */
  const waiting = new Map<string, Job>();
  /** Envelopes with a report on its way: their next report waits for it. */
  const sending = new Set<string>();
  let inFlight = 0;
  let scheduled = false;
  const idleWaiters: Array<() => void> = [];
  let dropped = 0;
  let coalesced = 0;
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

  const send = async (job: Job): Promise<void> => {
    try {
      await withRetries(job.path, job.body, attempts);
    } catch (err) {
      if (Date.now() - lastWarning > 10_000) {
        lastWarning = Date.now();
        log.warn(`Gateway report ${job.path} failed: ${errorText(err)} (routing is not affected)`);
      }
    }
  };

  const idle = () => queue.length === 0 && inFlight === 0;

  const pump = () => {
    while (inFlight < maxInFlight) {
      const next = queue.findIndex((j) => j.envelopeId === undefined || !sending.has(j.envelopeId));
      if (next < 0) break;
      const [job] = queue.splice(next, 1) as [Job];
      const key = job.envelopeId;
      if (key !== undefined) {
        waiting.delete(key);
        sending.add(key);
      }
      inFlight++;
      void send(job).finally(() => {
        inFlight--;
        if (key !== undefined) sending.delete(key);
        pump();
        if (idle()) for (const wake of idleWaiters.splice(0)) wake();
      });
    }
  };

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };

  const enqueue = (job: Job) => {
    const merged = job.envelopeId === undefined ? undefined : waiting.get(job.envelopeId);
    if (merged) {
      merged.body = job.body;
      coalesced++;
      return;
    }
    if (queue.length >= maxQueued) {
      const victim = queue.findIndex((j) => !j.important);
      if (victim < 0 && !job.important) {
        dropped++;
        return;
      }
      const [gone] = queue.splice(victim < 0 ? 0 : victim, 1);
      if (gone?.envelopeId !== undefined) waiting.delete(gone.envelopeId);
      dropped++;
    }
    queue.push(job);
    if (job.envelopeId !== undefined) waiting.set(job.envelopeId, job);
    schedule();
  };

  const flush = async () => {
    // Sent now, not a turn later: whoever flushes is waiting for it.
    pump();
    while (!idle()) await new Promise<void>((resolve) => idleWaiters.push(resolve));
  };

  return {
    progress(id, body) {
      if (!id) return;
      enqueue({ path: `/envelopes/${encodeURIComponent(id)}/progress`, body, important: false, envelopeId: id });
    },
    child(child) {
      enqueue({ path: '/envelopes', body: child, important: true });
    },
    async final(id, report) {
      // Progress queued before the final must not arrive after it.
      await flush();
      await finals.final(id, report);
    },
    flush,
    get dropped() {
      return dropped;
    },
    get coalesced() {
      return coalesced;
    },
  };
}
