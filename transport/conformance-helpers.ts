/** Small waiting and recording helpers for transport tests; correctness windows only, no speed thresholds. */
import type { Delivery, QueueDepth, Transport } from './transport.ts';

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds; the timeout is a failure bound, not a performance claim. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(25);
  }
}

export async function waitForDepth(
  transport: Transport,
  queue: string,
  expected: Partial<QueueDepth>,
  timeoutMs?: number,
): Promise<QueueDepth> {
  let last: QueueDepth | undefined;
  await waitFor(
    async () => {
      last = await transport.queueDepth(queue);
      return Object.entries(expected).every(([k, v]) => last![k as keyof QueueDepth] === v);
    },
    `depth of ${queue} to match ${JSON.stringify(expected)} (last ${JSON.stringify(last)})`,
    timeoutMs,
  );
  return last!;
}

export const text = (delivery: Delivery): string => delivery.body.toString('utf8');

export const UNICODE_SAMPLE = 'héllo wörld — 你好 — שלום — 👩‍💻🎉 — \u{1F600} — e\u0301 — \u2028';

/** A JSON body of exactly `bytes` bytes that starts with multi-byte text, so truncation or re-encoding shows. */
export function jsonBody(bytes: number): Buffer {
  const base = Buffer.from(JSON.stringify({ unicode: UNICODE_SAMPLE, pad: '' }));
  if (bytes < base.length) throw new RangeError(`jsonBody needs at least ${base.length} bytes`);
  return Buffer.from(JSON.stringify({ unicode: UNICODE_SAMPLE, pad: 'x'.repeat(bytes - base.length) }));
}
