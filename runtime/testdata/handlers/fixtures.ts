/**
 * Test handlers for the runtime conformance suite. runtime/testdata/handlers/fixtures.py defines the same
 * handlers in Python; the suite runs both and expects the same answers.
 */
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

export async function sleep(payload: Payload): Promise<unknown> {
  const seconds = Number(payload.seconds ?? 0);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  return { slept: seconds };
}

export function big(payload: Payload): unknown {
  return { data: 'x'.repeat(Number(payload.size_mb ?? 1) * 1024 * 1024) };
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
