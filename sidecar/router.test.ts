/**
 * The router's table: one delivery × what the runtime (and the gateway, and the broker) did → what was
 * published where, how the delivery was settled, what the gateway was told and what was counted. Each row
 * runs the real Router on the memory transport with a scripted runtime (test/support/scripted-router.ts).
 */
import { describe, expect, it } from 'vitest';
import { dlqName, queueName, RETRY_POLICY_HEADER, type Envelope, type JsonObject, type JsonValue, type RuntimeSuccess } from '../protocol/index.ts';
import type { RuntimeCallFailure } from './runtime-client.ts';
import { runRouter, type FinalAnswer, type Published, type RouterWorld, type RuntimeStep, type Settlement } from '../test/support/scripted-router.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

/** The envelope echo (the first of echo → next) receives. */
const input = { id: 'env-1', route: { actors: ['echo', 'next'], current: 0 }, headers: { trace: 't1' }, payload: { n: 1 } } satisfies Envelope;
/** What reaches an end actor: echo → next is done. */
const finished: Envelope = { id: 'env-1', route: { actors: ['echo', 'next'], current: 2 }, payload: { answer: 42 } };
const toNext = (payload: JsonValue): RuntimeSuccess => ({ payload, route: { actors: ['echo', 'next'], current: 1 } });
/** A crew handler's answer (envelope mode): the first result's payload is the handler's return value. */
const crewAnswer = (payload: JsonObject): RuntimeStep => ({ answer: [{ payload, route: { actors: [], current: 0 } }] });
const errorEnd = (code: string, extra: object = {}): Published => ({
  queue: queueName('error-end'),
  kind: 'error_end',
  envelope: { id: 'env-1', payload: { code, failed_actor: 'echo', ...extra } },
});
const base64 = (text: string) => Buffer.from(text).toString('base64');

interface Row {
  name: string;
  world: RouterWorld;
  input?: Envelope | Buffer | object;
  published: Published[];
  settled: Settlement;
  metrics: string[];
  progress?: string[];
  finals?: Array<{ status: string; answer: FinalAnswer }>;
  restarts?: number;
  runtimeCalls?: Array<{ timeoutMs: number }>;
  refused?: string[];
  children?: number;
}

const echo = (world: Partial<RouterWorld> & Pick<RouterWorld, 'runtime'>): RouterWorld => ({ actor: 'echo', otherActors: ['next'], now: NOW, ...world });
const STARTED = ['received@0', 'processing@0'];
const COMPLETED = [...STARTED, 'completed@1'];

const processingRows: Row[] = [
  {
    name: 'success → the next actor, same id, route advanced',
    world: echo({ runtime: [{ answer: [toNext({ n: 2 })] }] }),
    published: [{ queue: 'asya-next', kind: 'routing', envelope: { id: 'env-1', route: { current: 1 }, headers: { trace: 't1' }, payload: { n: 2 } } }],
    settled: 'ack',
    progress: COMPLETED,
    metrics: ['processed:success'],
  },
  {
    name: 'success at the end of the route → happy-end',
    world: echo({ runtime: [{ answer: [{ payload: 'done', route: { actors: ['echo'], current: 1 } }] }] }),
    input: { ...input, route: { actors: ['echo'], current: 0 } },
    published: [{ queue: 'asya-happy-end', kind: 'happy_end', envelope: { id: 'env-1', payload: 'done' } }],
    settled: 'ack',
    progress: ['received@0', 'processing@0', 'completed@1'],
    metrics: ['processed:success'],
  },
  {
    name: 'empty result → happy-end with the input unchanged',
    world: echo({ runtime: [{ answer: [] }] }),
    published: [{ queue: 'asya-happy-end', kind: 'happy_end', envelope: input }],
    settled: 'ack',
    progress: STARTED,
    metrics: ['processed:empty_response'],
  },
  {
    name: 'fan-out → one message per result with derived ids, children registered',
    world: echo({ runtime: [{ answer: [toNext('a'), toNext('b')] }] }),
    published: [
      { queue: 'asya-next', kind: 'routing', envelope: { id: 'env-1-0', parent_id: 'env-1', payload: 'a' } },
      { queue: 'asya-next', kind: 'routing', envelope: { id: 'env-1-1', parent_id: 'env-1', payload: 'b' } },
    ],
    settled: 'ack',
    progress: COMPLETED,
    children: 2,
    metrics: ['processed:success'],
  },
  {
    name: 'handler error → error-end processing_error with the original payload',
    world: echo({ runtime: [{ answer: [{ error: 'processing_error', details: { message: 'boom', type: 'ValueError' } }] }] }),
    published: [errorEnd('processing_error', { error: 'processing_error', details: { message: 'boom', type: 'ValueError' }, original_payload: { n: 1 } })],
    settled: 'ack',
    progress: STARTED,
    metrics: ['failed:runtime_error'],
  },
  {
    name: "handler error with the actor's spec.retry set → the policy travels on the error envelope",
    world: echo({ runtime: [{ answer: [{ error: 'processing_error' }] }], env: { ASYA_RETRY_POLICY: '{"maxAttempts":5}' } }),
    published: [{ ...errorEnd('processing_error'), envelope: { id: 'env-1', headers: { trace: 't1', [RETRY_POLICY_HEADER]: { maxAttempts: 5, initialDelaySeconds: 1 } } } }],
    settled: 'ack',
    progress: STARTED,
    metrics: ['failed:runtime_error'],
  },
  {
    name: 'handler error with an unknown code → processing_error',
    world: echo({ runtime: [{ answer: [{ error: 'weird' }] }] }),
    published: [errorEnd('processing_error', { error: 'weird' })],
    settled: 'ack',
    progress: STARTED,
    metrics: ['failed:runtime_error'],
  },
  {
    name: 'a result without a valid route → error-end invalid_response',
    // A runtime can answer anything; the type says what it should answer.
    world: echo({ runtime: [{ answer: [{ payload: 1, route: { actors: 'next', current: 0 } }] as never }] }),
    published: [errorEnd('invalid_response', { details: { type: 'InvalidResponse' } })],
    settled: 'ack',
    progress: STARTED,
    metrics: ['failed:runtime_error'],
  },
  {
    name: 'runtime unavailable, then back → the delivery is held, then routed',
    world: echo({ runtime: [{ fail: 'unavailable' }, { answer: [toNext(2)] }] }),
    published: [{ queue: 'asya-next', kind: 'routing', envelope: { id: 'env-1', payload: 2 } }],
    settled: 'ack',
    progress: COMPLETED,
    metrics: ['runtime_error:unavailable', 'processed:success'],
  },
  {
    name: 'runtime unavailable while draining → requeued, nothing published',
    world: echo({ runtime: [{ fail: 'unavailable' }], draining: true }),
    published: [],
    settled: 'requeue',
    progress: STARTED,
    metrics: ['runtime_error:unavailable'],
  },
  {
    name: 'a large result the payload store could not take → requeued, nothing published (the handler runs again)',
    world: echo({ runtime: [{ fail: 'result_not_stored' }] }),
    published: [],
    settled: 'requeue',
    progress: STARTED,
    metrics: ['runtime_error:result_not_stored'],
  },
  {
    name: 'runtime timeout → error-end timeout, then the runtime is restarted',
    world: echo({ runtime: [{ fail: 'timeout' }] }),
    published: [errorEnd('timeout', { error: 'Runtime timeout exceeded after 5m0s' })],
    settled: 'ack',
    progress: STARTED,
    restarts: 1,
    metrics: ['runtime_error:timeout'],
  },
  {
    name: 'deadline reached during the call → error-end deadline_exceeded, the call was cut to the deadline',
    world: echo({ runtime: [{ fail: 'timeout' }] }),
    input: { ...input, deadline: at(1500) },
    published: [errorEnd('deadline_exceeded', { error: `Deadline ${at(1500)} exceeded while echo was processing` })],
    settled: 'ack',
    progress: STARTED,
    restarts: 1,
    runtimeCalls: [{ timeoutMs: 1500 }],
    metrics: ['runtime_error:timeout'],
  },
  {
    name: 'deadline passed before the start → error-end deadline_exceeded, the runtime is not called',
    world: echo({ runtime: [] }),
    input: { ...input, deadline: at(-1) },
    published: [errorEnd('deadline_exceeded', { original_payload: { n: 1 } })],
    settled: 'ack',
    runtimeCalls: [],
    metrics: ['failed:deadline_exceeded'],
  },
  {
    name: 'an unreadable deadline counts as none',
    world: echo({ runtime: [{ answer: [toNext(2)] }] }),
    input: { ...input, deadline: 'tomorrow' },
    published: [{ queue: 'asya-next', kind: 'routing', envelope: { id: 'env-1', deadline: 'tomorrow' } }],
    settled: 'ack',
    progress: COMPLETED,
    runtimeCalls: [{ timeoutMs: 300_000 }],
    metrics: ['processed:success'],
  },
  {
    name: 'connection lost below the retry limit → requeued',
    world: echo({ runtime: [{ fail: 'connection_lost' }] }),
    published: [],
    settled: 'requeue',
    progress: STARTED,
    metrics: ['runtime_error:connection_lost'],
  },
  {
    name: 'connection lost at the retry limit → error-end connection_error',
    world: echo({ runtime: [{ fail: 'connection_lost' }], env: { ASYA_RUNTIME_MAX_RETRIES: '1' } }),
    published: [errorEnd('connection_error', { error: 'scripted connection_lost' })],
    settled: 'ack',
    progress: STARTED,
    metrics: ['runtime_error:connection_lost'],
  },
  {
    name: 'invalid response (e.g. a frame too large) → error-end invalid_response',
    world: echo({ runtime: [{ fail: 'invalid_response' }] }),
    published: [errorEnd('invalid_response', { error: 'scripted invalid_response' })],
    settled: 'ack',
    progress: STARTED,
    metrics: ['runtime_error:invalid_response'],
  },
  {
    name: 'the runtime caller throws something unexpected → requeued',
    world: echo({ runtime: [{ throws: 'a bug' }] }),
    published: [],
    settled: 'requeue',
    progress: STARTED,
    metrics: [],
  },
  {
    name: 'route mismatch → error-end route_mismatch, the runtime is not called',
    world: echo({ runtime: [] }),
    input: { ...input, route: { actors: ['echo', 'next'], current: 1 } },
    published: [errorEnd('route_mismatch', { error: 'Route mismatch: message routed to wrong actor (expected: echo, actual: next)' })],
    settled: 'ack',
    metrics: ['failed:route_mismatch'],
  },
  {
    name: 'a body that is not JSON → error-end parse_error carrying the original bytes',
    world: echo({ runtime: [] }),
    input: Buffer.from('not json'),
    published: [{ queue: 'asya-error-end', kind: 'error_end', envelope: { id: '', route: { actors: ['error-end'] }, payload: { code: 'parse_error', details: { body_base64: base64('not json') } } } }],
    settled: 'ack',
    metrics: ['failed:parse_error'],
  },
  {
    name: 'an envelope without an id → error-end validation_error',
    world: echo({ runtime: [] }),
    input: { route: input.route, payload: 1 },
    published: [{ queue: 'asya-error-end', kind: 'error_end', envelope: { id: '', payload: { code: 'validation_error', original_payload: 1 } } }],
    settled: 'ack',
    metrics: ['failed:validation_error'],
  },
  {
    name: 'a result routed to a queue that does not exist → error-end queue_not_found, payload kept for a retry',
    world: echo({ runtime: [{ answer: [{ payload: 2, route: { actors: ['echo', 'ghost'], current: 1 } }] }] }),
    published: [errorEnd('queue_not_found', { details: { type: 'QueueNotFound', queue: 'asya-ghost' }, original_payload: { n: 1 } })],
    settled: 'ack',
    progress: COMPLETED,
    metrics: ['failed:queue_not_found'],
  },
  {
    name: 'a result too large for the broker → error-end payload_too_large, without the payload',
    world: echo({ runtime: [{ answer: [toNext('x'.repeat(100))] }], refuse: { 'asya-next': 'too_large' } }),
    published: [errorEnd('payload_too_large', { error: expect.stringMatching(/^A result of echo is too large/) })],
    refused: ['asya-next'],
    settled: 'ack',
    progress: COMPLETED,
    metrics: ['failed:payload_too_large'],
  },
  {
    name: 'the error report too large as well → the input is dead-lettered',
    world: echo({ runtime: [{ answer: [{ error: 'processing_error' }] }], refuse: { 'asya-error-end': 'too_large' } }),
    published: [],
    refused: ['asya-error-end', 'asya-error-end'],
    settled: 'dead-letter',
    progress: STARTED,
    metrics: ['failed:runtime_error', 'failed:payload_too_large'],
  },
  {
    name: 'the broker cannot take a result for now → the input is requeued after a pause',
    world: echo({ runtime: [{ answer: [toNext(2)] }], refuse: { 'asya-next': 'unavailable' } }),
    published: [],
    refused: ['asya-next'],
    settled: 'requeue',
    progress: COMPLETED,
    metrics: ['failed:routing_error'],
  },
];

const happyEnd = (world: Partial<RouterWorld>): RouterWorld => ({ actor: 'happy-end', runtime: [], now: NOW, ...world });
const SUCCEEDED = { status: 'succeeded', answer: 'accepted' } as const;
/** A hold that is over at once (the broker's processing timeout, twice the runtime timeout, is the bound). */
const SHORT_HOLD = { ASYA_RUNTIME_TIMEOUT: '100ms' };
const gatewayAway: RuntimeStep = { answer: [{ error: 'processing_error', details: { type: 'GatewayUnavailable', message: 'down' } }] };

const endRows: Row[] = [
  {
    name: 'happy-end handler answers {} → the sidecar reports succeeded, acks',
    world: happyEnd({ runtime: [crewAnswer({})], finals: ['accepted'] }),
    input: finished,
    published: [],
    settled: 'ack',
    finals: [SUCCEEDED],
    metrics: ['end_consumed'],
  },
  {
    name: 'happy-end handler answers nothing (the original crew) → reported, acked',
    world: happyEnd({ runtime: [{ answer: [] }], finals: ['accepted'] }),
    input: finished,
    published: [],
    settled: 'ack',
    finals: [SUCCEEDED],
    metrics: ['end_consumed'],
  },
  {
    name: 'handler reported the final itself → no report from the sidecar',
    world: happyEnd({ runtime: [crewAnswer({ final_reported: true })] }),
    input: finished,
    published: [],
    settled: 'ack',
    metrics: ['end_consumed'],
  },
  {
    name: 'a deadline long past does not cut the end handler short',
    world: happyEnd({ runtime: [crewAnswer({})], finals: ['accepted'] }),
    input: { ...finished, deadline: at(-60_000) },
    published: [],
    settled: 'ack',
    finals: [SUCCEEDED],
    runtimeCalls: [{ timeoutMs: 300_000 }],
    metrics: ['end_consumed'],
  },
  {
    name: 'end handler error below the retry limit → requeued',
    world: happyEnd({ runtime: [{ answer: [{ error: 'processing_error' }] }] }),
    input: finished,
    published: [],
    settled: 'requeue',
    metrics: [],
  },
  {
    name: 'end handler error at the retry limit → a copy to its DLQ, acked',
    world: happyEnd({ runtime: [{ answer: [{ error: 'processing_error' }] }], env: { ASYA_RUNTIME_MAX_RETRIES: '1' } }),
    input: finished,
    published: [{ queue: dlqName('happy-end'), kind: 'dlq', envelope: finished }],
    settled: 'ack',
    metrics: [],
  },
  {
    name: 'end handler timeout → requeued (never routed to error-end)',
    world: happyEnd({ runtime: [{ fail: 'timeout' }] }),
    input: finished,
    published: [],
    settled: 'requeue',
    restarts: 0,
    metrics: ['runtime_error:timeout'],
  },
  {
    name: 'end handler answer refused (it publishes to its own queue) → requeued',
    world: happyEnd({ runtime: [crewAnswer({ publish: [{ queue: 'asya-happy-end', envelope: {} }] })] }),
    input: finished,
    published: [],
    settled: 'requeue',
    metrics: [],
  },
  {
    name: 'final report rejected by the gateway → requeued',
    world: happyEnd({ runtime: [crewAnswer({})], finals: ['rejected'] }),
    input: finished,
    published: [],
    settled: 'requeue',
    finals: [{ status: 'succeeded', answer: 'rejected' }],
    metrics: [],
  },
  {
    name: 'final report meets an unavailable gateway → held, then given back as a fresh copy',
    world: happyEnd({ runtime: [crewAnswer({})], finals: ['unavailable'], env: SHORT_HOLD }),
    input: finished,
    published: [{ queue: 'asya-happy-end', kind: 'given_back', envelope: finished }],
    settled: 'ack',
    finals: [{ status: 'succeeded', answer: 'unavailable' }],
    metrics: ['gateway_unavailable', 'given_back'],
  },
  {
    name: 'the gateway is back during the hold → reported, acked',
    world: happyEnd({ runtime: [crewAnswer({}), crewAnswer({})], finals: ['unavailable', 'accepted'] }),
    input: finished,
    published: [],
    settled: 'ack',
    finals: [{ status: 'succeeded', answer: 'unavailable' }, SUCCEEDED],
    metrics: ['gateway_unavailable', 'end_consumed'],
  },
  {
    name: 'draining while the gateway is away → given back at once',
    world: happyEnd({ runtime: [crewAnswer({})], finals: ['unavailable'], draining: true }),
    input: finished,
    published: [{ queue: 'asya-happy-end', kind: 'given_back', envelope: finished }],
    settled: 'ack',
    finals: [{ status: 'succeeded', answer: 'unavailable' }],
    metrics: ['gateway_unavailable', 'given_back'],
  },
  {
    name: 'the crew handler says the gateway is away → held, then given back',
    world: happyEnd({ runtime: [gatewayAway], env: SHORT_HOLD }),
    input: finished,
    published: [{ queue: 'asya-happy-end', kind: 'given_back', envelope: finished }],
    settled: 'ack',
    metrics: ['gateway_unavailable', 'given_back'],
  },
  {
    name: 'happy-end cannot read the message → error-end parse_error',
    world: happyEnd({}),
    input: Buffer.from('{"id":'),
    published: [{ queue: 'asya-error-end', kind: 'error_end', envelope: { payload: { code: 'parse_error', failed_actor: 'happy-end', details: { body_base64: base64('{"id":') } } } }],
    settled: 'ack',
    metrics: ['failed:parse_error'],
  },
];

const errorEndWorld = (world: Partial<RouterWorld>): RouterWorld => ({ actor: 'error-end', runtime: [], otherActors: ['echo', 'dlq'], now: NOW, ...world });
const failedEnvelope = { id: 'env-1', route: { actors: ['echo', 'next'], current: 0 }, payload: { error: 'boom', code: 'processing_error', failed_actor: 'echo' } };
const retryTo = (queue: string) => crewAnswer({ final_reported: true, publish: [{ queue, envelope: input, delay_ms: 2000 }] });

const errorEndRows: Row[] = [
  {
    name: 'error-end schedules a retry → a delayed publish to the failed actor, acked',
    world: errorEndWorld({ runtime: [retryTo('asya-echo')] }),
    input: failedEnvelope,
    published: [{ queue: 'asya-echo', kind: 'routing', envelope: input, delayMs: 2000 }],
    settled: 'ack',
    metrics: ['end_consumed'],
  },
  {
    name: 'error-end gives up → a record to asya-dlq (kind dlq), acked',
    world: errorEndWorld({ runtime: [crewAnswer({ final_reported: true, publish: [{ queue: 'asya-dlq', envelope: { id: 'env-1' } }] })] }),
    input: failedEnvelope,
    published: [{ queue: 'asya-dlq', kind: 'dlq', envelope: { id: 'env-1' } }],
    settled: 'ack',
    metrics: ['end_consumed'],
  },
  {
    name: 'error-end handler answers {} → the sidecar reports failed',
    world: errorEndWorld({ runtime: [crewAnswer({})], finals: ['accepted'] }),
    input: failedEnvelope,
    published: [],
    settled: 'ack',
    finals: [{ status: 'failed', answer: 'accepted' }],
    metrics: ['end_consumed'],
  },
  {
    name: 'error-end cannot read the message → straight to its own DLQ, byte for byte (never to itself)',
    world: errorEndWorld({}),
    input: Buffer.from('garbage'),
    published: [{ queue: dlqName('error-end'), kind: 'dlq', envelope: { code: 'parse_error', body_base64: base64('garbage') } }],
    settled: 'ack',
    metrics: ['failed:parse_error'],
  },
  {
    name: "error-end's retry goes to a queue that was removed → failed reported, the input dead-lettered",
    world: errorEndWorld({ runtime: [retryTo('asya-gone')], finals: ['accepted'] }),
    input: failedEnvelope,
    published: [],
    settled: 'dead-letter',
    finals: [{ status: 'failed', answer: 'accepted' }],
    metrics: ['end_consumed', 'failed:queue_not_found'],
  },
  {
    name: '… and the gateway cannot be told → the input is requeued after a pause',
    world: errorEndWorld({ runtime: [retryTo('asya-gone')], finals: ['unavailable'] }),
    input: failedEnvelope,
    published: [],
    settled: 'requeue',
    finals: [{ status: 'failed', answer: 'unavailable' }],
    metrics: ['end_consumed', 'failed:queue_not_found'],
  },
];

const ROWS = [...processingRows, ...endRows, ...errorEndRows];

describe("the consumer's slot (the next delivery may start once it is given back)", () => {
  it('is given back once the results are on their way, before the ack', async () => {
    const row = processingRows.find((r) => r.restarts === undefined && r.settled === 'ack' && r.published.length > 0)!;
    expect((await runRouter(row.world, row.input ?? input)).slot).toBe('released before settling');
  });

  it('is held to the end while a timed-out runtime restarts, so the next delivery never meets the hung runtime', async () => {
    const row = processingRows.find((r) => r.restarts === 1)!;
    const run = await runRouter(row.world, row.input ?? input);
    expect(run.restarts).toHaveLength(1);
    expect(run.slot).toBe('held');
  });
});

describe('sidecar router: delivery × outcome → published, settled, reported', () => {
  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const run = await runRouter(row.world, row.input ?? input);
    expect(run).toMatchObject({
      published: row.published,
      refused: row.refused ?? [],
      settled: [row.settled],
      metrics: row.metrics,
      progress: row.progress ?? [],
      finals: (row.finals ?? []).map((f) => ({ id: 'env-1', ...f })),
      ...(row.runtimeCalls ? { runtimeCalls: row.runtimeCalls } : {}),
    });
    expect(run.restarts).toHaveLength(row.restarts ?? 0);
    expect(run.children).toHaveLength(row.children ?? 0);
    // What the broker holds afterwards agrees with the settlement: nothing is lost or duplicated.
    const own = (queue: string) => run.published.filter((p) => p.queue === queue).length;
    expect(run.depth).toEqual({
      input: own(queueName(row.world.actor)) + (row.settled === 'requeue' ? 1 : 0),
      dlq: own(dlqName(row.world.actor)) + (row.settled === 'dead-letter' ? 1 : 0),
    });
  });

  it('covers every runtime failure, every settlement and each kind of message', () => {
    const failures = ROWS.flatMap((r) => r.world.runtime.flatMap((s) => ('fail' in s ? [s.fail] : [])));
    const every: Record<RuntimeCallFailure, true> = { unavailable: true, timeout: true, connection_lost: true, invalid_response: true, result_not_stored: true };
    expect(new Set(failures)).toEqual(new Set(Object.keys(every)));
    const settlements: Record<Settlement, true> = { ack: true, requeue: true, 'dead-letter': true };
    expect(new Set(ROWS.map((r) => r.settled))).toEqual(new Set(Object.keys(settlements)));
    const kinds = ROWS.flatMap((r) => r.published.map((p) => p.kind));
    expect(new Set(kinds)).toEqual(new Set(['routing', 'happy_end', 'error_end', 'dlq', 'given_back']));
  });

  it('a runtime back after being unavailable is reported reachable again; one still away is not', async () => {
    const back = await runRouter(echo({ runtime: [{ fail: 'unavailable' }, { answer: [] }] }), input);
    const away = await runRouter(echo({ runtime: [{ fail: 'unavailable' }], draining: true }), input);
    expect([back.runtimeReachable, away.runtimeReachable]).toEqual([true, false]);
  });
});
