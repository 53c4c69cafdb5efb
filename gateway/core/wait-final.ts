/**
 * Waits for an envelope to finish, reporting every event on the way. Used by MCP tool calls that wait
 * (progress notifications) and by tasks/result. The subscription replays from the first event, so an
 * envelope that finished before the wait began is seen at once, and nothing between is missed.
 */
import { isFinal } from '../store/state-machine.ts';
import type { EnvelopeEvent, EnvelopeRecord, EnvelopeStore, FinalStatus, Subscription } from '../store/index.ts';

/** An envelope that has finished. */
export type FinalRecord = EnvelopeRecord & { status: FinalStatus };

const isFinalRecord = (record: EnvelopeRecord): record is FinalRecord => isFinal(record.status);

export class WaitAbortedError extends Error {
  override readonly name = 'WaitAbortedError';
}

export function waitForFinal(
  store: EnvelopeStore,
  id: string,
  options: { onEvent?: (event: EnvelopeEvent) => void; signal?: AbortSignal } = {},
): Promise<FinalRecord> {
  const { onEvent, signal } = options;
  return new Promise<FinalRecord>((resolve, reject) => {
    let subscription: Subscription | undefined;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void subscription?.close();
      fn();
    };
    const onAbort = () => settle(() => reject(new WaitAbortedError('the caller stopped waiting')));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    store
      .subscribe(
        id,
        (event) => {
          if (settled) return;
          onEvent?.(event);
          if (!isFinal(event.status)) return;
          store.get(id).then(
            (record) => {
              // A final event in the history that an operator's replay has reopened since: keep waiting.
              if (!record) return settle(() => reject(new Error(`envelope ${id} disappeared`)));
              if (isFinalRecord(record)) settle(() => resolve(record));
            },
            (err: unknown) => settle(() => reject(err)),
          );
        },
        { afterSeq: 0 },
      )
      .then(
        (sub) => {
          subscription = sub;
          if (settled) void sub.close();
        },
        (err: unknown) => settle(() => reject(err)),
      );
  });
}
