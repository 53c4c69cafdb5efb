/**
 * An EnvelopeStore that exists before its database does. The gateway starts, serves /health, answers
 * /ready with 503 and every store-backed request with a clear 503 while it keeps trying to open the real
 * store in the background; once open, calls go straight through. Kubernetes then sees "not ready", not a
 * crash loop, when PostgreSQL is late or down at startup.
 */
import type { Logger } from '../protocol/log.ts';
import { StoreUnavailableError, type EnvelopeStore } from './store/index.ts';
import { errorText } from '../protocol/errors.ts';

export interface ConnectingStore extends EnvelopeStore {
  /** Resolves once the real store is open (never rejects; it keeps retrying until closed). */
  readonly opened: Promise<void>;
  readonly isOpen: boolean;
}

export function connectStore(
  open: () => Promise<EnvelopeStore>,
  options: { log: Logger; initialDelayMs?: number; maxDelayMs?: number },
): ConnectingStore {
  let inner: EnvelopeStore | undefined;
  let lastError: unknown = new Error('connecting');
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeRetry: (() => void) | undefined;

  const opened = (async () => {
    let delay = options.initialDelayMs ?? 500;
    for (let attempt = 1; !closed; attempt++) {
      try {
        const store = await open();
        if (closed) {
          await store.close();
          return;
        }
        inner = store;
        if (attempt > 1) options.log.info('envelope store is open');
        return;
      } catch (err) {
        lastError = err;
        options.log.warn(`cannot open the envelope store (attempt ${attempt}, retrying in ${delay} ms): ${errorText(err)}`);
      }
      await new Promise<void>((resolve) => {
        wakeRetry = resolve;
        timer = setTimeout(resolve, delay);
      });
      delay = Math.min(delay * 2, options.maxDelayMs ?? 10_000);
    }
  })();

  const use = (): EnvelopeStore => {
    if (inner) return inner;
    throw new StoreUnavailableError(lastError);
  };

  return {
    opened,
    get isOpen() {
      return inner !== undefined;
    },
    fanIns: {
      arrive: (childId, arrival) => call(() => use().fanIns.arrive(childId, arrival)),
      expire: (limit) => call(() => use().fanIns.expire(limit)),
      claimOutbox: (leaseMs, limit) => call(() => use().fanIns.claimOutbox(leaseMs, limit)),
      markPublished: (parentId) => call(() => use().fanIns.markPublished(parentId)),
    },
    create: (input) => call(() => use().create(input)),
    createOnce: (input, idempotency) => call(() => use().createOnce(input, idempotency)),
    get: (id) => call(() => use().get(id)),
    list: (filter) => call(() => use().list(filter)),
    summaries: (ids) => call(() => use().summaries(ids)),
    appendProgress: (id, input) => call(() => use().appendProgress(id, input)),
    setFinal: (id, input) => call(() => use().setFinal(id, input)),
    eventsSince: (id, after, limit) => call(() => use().eventsSince(id, after, limit)),
    subscribe: (id, listener, opts) => call(() => use().subscribe(id, listener, opts)),
    follow: (id, listener, opts) => call(() => use().follow(id, listener, opts)),
    registerChild: (input) => call(() => use().registerChild(input)),
    reopen: (id, input) => call(() => use().reopen(id, input)),
    cancel: (id, reason) => call(() => use().cancel(id, reason)),
    failOverdue: (now, limit) => call(() => use().failOverdue(now, limit)),
    claimOutbox: (leaseMs, limit) => call(() => use().claimOutbox(leaseMs, limit)),
    markPublished: (id) => call(() => use().markPublished(id)),
    deleteOlderThan: (cutoff) => call(() => use().deleteOlderThan(cutoff)),
    pause: (id, input) => call(() => use().pause(id, input)),
    getPause: (id) => call(() => use().getPause(id)),
    resume: (id, input) => call(() => use().resume(id, input)),
    expirePauses: (now, limit) => call(() => use().expirePauses(now, limit)),
    claimResumes: (leaseMs, limit) => call(() => use().claimResumes(leaseMs, limit)),
    markResumePublished: (id) => call(() => use().markResumePublished(id)),
    ping: async () => (inner ? inner.ping() : false),
    pendingMigrations: () => call(() => use().pendingMigrations()),
    async close() {
      closed = true;
      clearTimeout(timer);
      wakeRetry?.();
      await opened;
      await inner?.close();
    },
  };
}

/** Turns a synchronous "not open yet" into a rejected promise, like every other store failure. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  return fn();
}
