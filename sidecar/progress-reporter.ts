/**
 * Progress to the gateway never blocks routing: reports go into a bounded in-memory queue that a few workers
 * drain. When the gateway is slow or down the queue fills and the oldest progress reports are dropped (counted
 * and logged); fan-out registrations are kept ahead of plain progress. Final reports from end actors are the
 * exception: they are awaited, because the end actor's ack depends on them.
 *
 * Progress is coalesced, so that it does not cost more than the work it describes: a report a hop will soon
 * supersede (`received`, `processing`) waits `coalesceMs` (20 ms) before it leaves, and a newer report for
 * the same envelope replaces one still waiting (the envelope's latest state is what the gateway shows; each
 * report it stores is one row and one NOTIFY, and each POST cost a sidecar about 0.5 ms of CPU in
 * bench/e2e). So a hop whose handler answers within that time sends one report, `completed`, instead of
 * `processing` and then `completed`; a slower handler's `processing` shows 20 ms after it started. A hop's
 * last report (`completed`), registrations and finals do not wait: in a pipeline of sub-millisecond hops
 * a waiting `completed` would reach the gateway after the envelope's final, and show no step at all. Reports for
 * different envelopes leave together: what is ready goes in one POST /progress (ours), and what becomes ready
 * while it is on its way goes in the next one, so under load a request carries several reports instead of
 * each paying its own HTTP round (parsing, routing, an answer) in the sidecar and in the gateway. A gateway
 * without that route (404 or 405: an older one, or the original) gets each report on its own, up to
 * `maxInFlight` at once. One envelope's reports leave one at a time, in order, so the gateway never sees them
 * reversed.
 */
import { gatewayClient, postToGateway, type Logger, type ProgressReport } from '../protocol/index.ts';
import type { FinalReport } from './end-actor.ts';
import type { FanoutChild } from './outcome.ts';
import { errorText } from '../protocol/errors.ts';
import { ACTOR_STATES, PROGRESS_BATCH_MAX_REPORTS, PROGRESS_BATCH_PATH, ProgressBatchAnswer, type ActorState } from '../protocol/gateway-contract.ts';

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

/** The reports a hop makes before its last one (`completed`), which soon replaces them. */
const PROVISIONAL: ReadonlySet<ActorState> = new Set(ACTOR_STATES.filter((state) => state !== 'completed'));

interface Job {
  path: string;
  body: unknown;
  important: boolean;
  /** The envelope a progress report is about; registrations have none and are never merged. */
  envelopeId?: string;
  /** When it may leave (performance.now()); a report merged into it leaves at the earlier of the two times. */
  readyAt: number;
  /** Sends so far of a batched report the gateway asked for again (a report sent alone retries in send()). */
  tries: number;
}

/** A batch answer lists the reports to send again or refused, each with a short reason: this holds a full one. */
const BATCH_ANSWER_MAX_CHARS = 64 * 1024;

export interface HttpReporterOptions {
  url: string;
  token?: string;
  log: Logger;
  maxQueued?: number;
  /** Requests on their way at once (at most one of them a batch of progress reports). @default 4 */
  maxInFlight?: number;
  timeoutMs?: number;
  attempts?: number;
  retryDelayMs?: number;
  /** How long a provisional progress report (PROVISIONAL) waits for a newer one about the same envelope. @default 20 */
  coalesceMs?: number;
}

export function httpReporter(options: HttpReporterOptions): ProgressReporter & { readonly coalesced: number } {
  const { url, token, log } = options;
  const maxQueued = options.maxQueued ?? 10_000;
  const maxInFlight = options.maxInFlight ?? 4;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const coalesceMs = options.coalesceMs ?? 20;
  const queue: Job[] = [];
  /** The waiting (not yet sent) progress report of each envelope. */
  const waiting = new Map<string, Job>();
  /** Envelopes with a report on its way: their next report waits for it. */
  const sending = new Set<string>();
  let inFlight = 0;
  /** Until the gateway answers POST /progress with 404 or 405, progress reports go in batches. */
  let batches = true;
  let batchOnItsWay = false;
  let scheduled = false;
  /** The timer that sends the next waiting progress report when its time comes. */
  let wakeAt: number | undefined;
  let wake: NodeJS.Timeout | undefined;
  /** While someone flushes, nothing waits. */
  let flushing = 0;
  const idleWaiters: Array<() => void> = [];
  let dropped = 0;
  let coalesced = 0;
  let lastWarning = 0;

  const warnRarely = (message: string) => {
    if (Date.now() - lastWarning > 10_000) {
      lastWarning = Date.now();
      log.warn(message);
    }
  };

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
      warnRarely(`Gateway report ${job.path} failed: ${errorText(err)} (routing is not affected)`);
    }
  };

  /**
   * A batched report back in the queue (at its head or its end), unless a newer report about its envelope is
   * waiting: that one says more, and this one is dropped.
   */
  const putBack = (job: Job, where: 'head' | 'end') => {
    const id = job.envelopeId!;
    if (waiting.has(id)) return;
    if (where === 'head') queue.unshift(job);
    else queue.push(job);
    waiting.set(id, job);
  };

  /** A batched report asked for again waits its turn in the queue, so that it holds up no other envelope's. */
  const again = (job: Job, why: string) => {
    if (waiting.has(job.envelopeId!)) return;
    if (job.tries >= attempts) return warnRarely(`Gateway progress report for ${job.envelopeId} not taken after ${job.tries} tries: ${why} (routing is not affected)`);
    job.readyAt = performance.now() + retryDelayMs * job.tries;
    putBack(job, 'end');
  };

  const sendBatch = async (jobs: Job[]): Promise<void> => {
    for (const job of jobs) job.tries++;
    const reports = jobs.map((job) => ({ id: job.envelopeId, ...(job.body as object) }));
    let answer: ProgressBatchAnswer;
    try {
      const { status, text } = await postToGateway(url, PROGRESS_BATCH_PATH, { reports }, { token, timeoutMs, maxAnswerChars: BATCH_ANSWER_MAX_CHARS });
      if (status === 404 || status === 405) {
        batches = false;
        log.info(`The gateway has no POST ${PROGRESS_BATCH_PATH} (it answered ${status}): progress reports go one by one`);
        // Back at the head of the queue, in their order (the last put back first), to leave one by one.
        for (let i = jobs.length - 1; i >= 0; i--) {
          jobs[i]!.tries = 0;
          putBack(jobs[i]!, 'head');
        }
        return;
      }
      if (status < 200 || status >= 300) throw new Error(`POST ${PROGRESS_BATCH_PATH} answered ${status}`);
      const parsed = ProgressBatchAnswer.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`POST ${PROGRESS_BATCH_PATH} answered 200 without {retry, refused}`);
      answer = parsed.data;
    } catch (err) {
      for (const job of jobs) again(job, errorText(err));
      return;
    }
    for (const index of answer.retry) {
      const job = jobs[index];
      if (job) again(job, 'the gateway asked for it again');
    }
    for (const { index, error } of answer.refused) warnRarely(`Gateway refused the progress report for ${jobs[index]?.envelopeId ?? `#${index}`}: ${error}`);
  };

  const idle = () => queue.length === 0 && inFlight === 0;

  const pump = () => {
    // A millisecond's slack: timers keep whole milliseconds, and one firing a fraction early must not set another.
    const now = performance.now() + 1;
    // A report asked for again keeps its delay even when someone flushes: the gateway was not ready for it.
    const ready = (j: Job) => (j.envelopeId === undefined || !sending.has(j.envelopeId)) && ((flushing > 0 && j.tries === 0) || j.readyAt <= now);
    const take = (index: number): Job => {
      const [job] = queue.splice(index, 1) as [Job];
      if (job.envelopeId !== undefined) {
        waiting.delete(job.envelopeId);
        sending.add(job.envelopeId);
      }
      return job;
    };
    while (inFlight < maxInFlight) {
      // While a batch is on its way, the progress reports that become ready gather for the next one.
      const next = queue.findIndex((j) => ready(j) && !(batches && batchOnItsWay && j.envelopeId !== undefined));
      if (next < 0) break;
      const first = take(next);
      const jobs = [first];
      const batch = batches && first.envelopeId !== undefined;
      if (batch) {
        for (let i = next; i < queue.length && jobs.length < PROGRESS_BATCH_MAX_REPORTS; ) {
          if (queue[i]!.envelopeId !== undefined && ready(queue[i]!)) jobs.push(take(i));
          else i++;
        }
        batchOnItsWay = true;
      }
      inFlight++;
      void (batch ? sendBatch(jobs) : send(first)).finally(() => {
        inFlight--;
        if (batch) batchOnItsWay = false;
        for (const job of jobs) if (job.envelopeId !== undefined) sending.delete(job.envelopeId);
        pump();
        if (idle()) for (const waiter of idleWaiters.splice(0)) waiter();
      });
    }
    wakeForWaiting(now);
  };

  /**
   * A timer for the earliest report still waiting for its time (one timer at a time), and none when nothing
   * waits: on a virtual machine a wake from idle costs a process more CPU than a turn of work (docs/performance.md).
   */
  const wakeForWaiting = (now: number) => {
    let earliest = Infinity;
    for (const j of queue) if (j.readyAt > now && j.readyAt < earliest) earliest = j.readyAt;
    if (earliest === Infinity) {
      clearTimeout(wake);
      wakeAt = undefined;
      return;
    }
    if (wakeAt !== undefined && wakeAt <= earliest) return;
    clearTimeout(wake);
    wakeAt = earliest;
    wake = setTimeout(() => {
      wakeAt = undefined;
      pump();
    }, earliest - now);
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
      // A new report, even where it replaces one the gateway asked for again.
      merged.tries = 0;
      coalesced++;
      if (job.readyAt < merged.readyAt) {
        merged.readyAt = job.readyAt;
        schedule();
      }
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
    // Sent now, not a turn or a coalescing wait later: whoever flushes is waiting for it.
    flushing++;
    try {
      pump();
      while (!idle()) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    } finally {
      flushing--;
    }
  };

  return {
    progress(id, body) {
      if (!id) return;
      const readyAt = PROVISIONAL.has(body.status) ? performance.now() + coalesceMs : 0;
      enqueue({ path: `/envelopes/${encodeURIComponent(id)}/progress`, body, important: false, envelopeId: id, readyAt, tries: 0 });
    },
    child(child) {
      enqueue({ path: '/envelopes', body: child, important: true, readyAt: 0, tries: 0 });
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
