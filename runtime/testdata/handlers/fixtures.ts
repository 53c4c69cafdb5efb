/**
 * Test handlers for the runtime conformance suite. runtime/testdata/handlers/fixtures.py defines the same
 * handlers in Python; the suite runs both and expects the same answers.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Payload = Record<string, unknown>;
type Envelope = { id?: string; route: { actors: string[]; current: number }; headers?: Record<string, unknown>; payload: Payload };

class ValueError extends Error {
  override readonly name = 'ValueError';
}

export function echo(payload: unknown): unknown {
  return payload;
}

export function fanout(payload: Payload): unknown[] {
  const count = typeof payload.count === 'number' ? payload.count : 3;
  return Array.from({ length: count }, (_, index) => ({ index, of: count }));
}

export function empty(): null {
  return null;
}

export function fail(payload: Payload): never {
  throw new ValueError(typeof payload.message === 'string' ? payload.message : 'Intentional test failure');
}

export function unserializable(payload: Payload): unknown {
  return payload.kind === 'nan' ? { value: Number.NaN } : { value: 10n };
}

/** Sleeps `payload.seconds`, or less once the file `payload.wake` exists (a test ends a long sleep it no longer needs). */
export async function sleep(payload: Payload): Promise<unknown> {
  const seconds = Number(payload.seconds ?? 0);
  const until = Date.now() + seconds * 1000;
  const wake = typeof payload.wake === 'string' ? payload.wake : undefined;
  while (Date.now() < until && !(wake && existsSync(wake))) await new Promise((resolve) => setTimeout(resolve, Math.min(50, until - Date.now())));
  return { slept: seconds };
}

/** A result of `payload.size_mb` MiB; each call appends a line to the file `payload.counter` when given. */
export function big(payload: Payload): unknown {
  if (typeof payload.counter === 'string') appendFileSync(payload.counter, `${Date.now()}\n`);
  return { data: 'x'.repeat(Number(payload.size_mb ?? 1) * 1024 * 1024) };
}

/**
 * Holds the call until the test lets it go, so a test can act while a call is certainly in flight without
 * guessing how long that takes. The directory is `payload.gate_dir` or env FIXTURE_GATE_DIR: the call
 * appends a line to `<dir>/started`, then waits for the file `<dir>/open`; it answers its payload.
 */
export async function gated(payload: Payload): Promise<unknown> {
  const dir = String(payload.gate_dir ?? process.env.FIXTURE_GATE_DIR);
  appendFileSync(join(dir, 'started'), `${process.pid}\n`);
  // A poll, not a timing assumption: the test decides when the file appears.
  while (!existsSync(join(dir, 'open'))) await new Promise((resolve) => setTimeout(resolve, 20));
  return payload;
}

/**
 * Counts attempts as lines in the file `payload.counter` (each line the attempt's time in ms) and fails
 * while the attempt is at most `payload.failures`; once the file `payload.fixed` exists it always succeeds.
 * `payload.seconds` (plus env FLAKY_EXTRA_SECONDS, to slow one replica down) makes each attempt take that
 * long. Retry tests use it: fail once then succeed, fail every time, and "fix" the handler before a replay.
 */
export async function flaky(payload: Payload): Promise<unknown> {
  const counter = String(payload.counter);
  // FLAKY_TAG after the time tells a test which replica an attempt ran on.
  appendFileSync(counter, `${Date.now()}${process.env.FLAKY_TAG ? ` ${process.env.FLAKY_TAG}` : ''}\n`);
  const attempt = readFileSync(counter, 'utf8').trim().split('\n').length;
  const seconds = Number(payload.seconds ?? 0) + Number(process.env.FLAKY_EXTRA_SECONDS ?? 0);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const fixed = typeof payload.fixed === 'string' && existsSync(payload.fixed);
  if (!fixed && attempt <= Number(payload.failures ?? 0)) throw new ValueError(`flaky failure on attempt ${attempt}`);
  return { ...payload, attempts: attempt };
}

export class Counter {
  private count: number;
  constructor(start = 0) {
    this.count = start;
  }
  process(payload: Payload): unknown {
    this.count += 1;
    return { count: this.count, request_id: payload.request_id ?? null };
  }
}

export function passthrough(envelope: Envelope): Envelope {
  return envelope;
}

/** Envelope mode: applies payload.set_route as the output route, else advances current; payload.fanout copies. */
export function edit_route(envelope: Envelope): Envelope | Envelope[] {
  const route = (envelope.payload.set_route as Envelope['route'] | undefined) ?? {
    ...envelope.route,
    current: envelope.route.current + 1,
  };
  const make = (payload: Payload): Envelope => ({ ...envelope, route, payload });
  const copies = envelope.payload.fanout;
  if (typeof copies === 'number') return Array.from({ length: copies }, (_, index) => make({ index }));
  return make(envelope.payload);
}

const APPROVAL_SCHEMA = {
  type: 'object',
  properties: { approved: { type: 'boolean' }, note: { type: 'string' } },
  required: ['approved'],
};

export async function ask_approval(payload: Payload): Promise<unknown> {
  const { pause } = await import('../../node/pause.ts');
  return pause(`Approve ${String(payload.doc)}?`, {
    payload,
    schema: APPROVAL_SCHEMA,
    ...(typeof payload.timeout === 'number' ? { timeoutSeconds: payload.timeout } : {}),
    ...('default' in payload ? { default: payload.default } : {}),
  });
}

/** Envelope mode, as the original's runtime can run it: the pause is the reserved header, set by hand. */
export function pause_envelope(envelope: Envelope): unknown {
  const headers = { ...(envelope.headers ?? {}), 'x-asya-pause': { prompt: 'Envelope-mode approval?', input_key: 'answer' } };
  return { payload: envelope.payload, route: { ...envelope.route, current: envelope.route.current + 1 }, headers };
}

/** Envelope mode: notes the traceparent the runtime was handed in the payload's `seen` list, and goes on. */
export function trace_seen(envelope: Envelope): unknown {
  const payload = envelope.payload as { seen?: unknown[] };
  const seen = [...(payload.seen ?? []), envelope.headers?.traceparent ?? null];
  return { payload: { ...payload, seen }, route: { ...envelope.route, current: envelope.route.current + 1 }, headers: envelope.headers };
}
