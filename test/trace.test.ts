/**
 * The trace test (issue 17): an OTLP/HTTP receiver in the test collects the spans of real processes, the
 * gateway, three `asya sidecar`s with their Node runtimes and both `asya crew` commands, on RabbitMQ and on
 * SQS (moto). One tool call goes through a step that fails once and is retried by error-end, a fan-out of 3
 * and a last step; the spans must form one trace whose every hop hangs under the hop that sent it. Then, on
 * RabbitMQ, a call whose payload travels by reference (the claim check) through a Node and a Python runtime.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import type { TransportName } from '../transport/registry.ts';
import { brokerSession, TEST_BROKERS } from './support/brokers.ts';
import { runGatewayProcess, testSchema, waitUntil, type GatewayProcess } from './support/gateway-harness.ts';
import { startOtlpReceiver, SPAN_KIND, traceTree, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.ts';
import { fixtureHandler, startRuntime, type RuntimeProcess } from './support/runtime-process.ts';
import { deleteQueuesWithDeadLetters } from './support/queues.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';

const CALLER_TRACE = randomUUID().replaceAll('-', '');
const CALLER_SPAN = CALLER_TRACE.slice(0, 16);

/** The trace of the call, actor names without their per-run suffix (docs/operations.md shows it with times). */
const EXPECTED_TREE = `
tools/call traced [asya-gateway]
  process asya-tr-flaky [asya-sidecar] ERROR processing_error
    process asya-tr-error [asya-crew]
      process asya-tr-flaky [asya-sidecar] linked
        process asya-tr-fan [asya-sidecar]
          process asya-tr-echo [asya-sidecar]
            process asya-tr-happy [asya-crew]
              runtime tr-happy [asya-crew]
                happy-end [asya-crew]
            runtime tr-echo [asya-sidecar]
            send asya-tr-happy [asya-sidecar]
          process asya-tr-echo [asya-sidecar]
            process asya-tr-happy [asya-crew]
              runtime tr-happy [asya-crew]
                happy-end [asya-crew]
            runtime tr-echo [asya-sidecar]
            send asya-tr-happy [asya-sidecar]
          process asya-tr-echo [asya-sidecar]
            process asya-tr-happy [asya-crew]
              runtime tr-happy [asya-crew]
                happy-end [asya-crew]
            runtime tr-echo [asya-sidecar]
            send asya-tr-happy [asya-sidecar]
          runtime tr-fan [asya-sidecar]
          send asya-tr-echo [asya-sidecar]
          send asya-tr-echo [asya-sidecar]
          send asya-tr-echo [asya-sidecar]
        runtime tr-flaky [asya-sidecar]
        send asya-tr-fan [asya-sidecar]
      runtime tr-error [asya-crew]
        error-end [asya-crew]
      send asya-tr-flaky [asya-crew]
    runtime tr-flaky [asya-sidecar] ERROR processing_error
    send asya-tr-error [asya-sidecar]
  send asya-tr-flaky [asya-gateway]
`;

interface TracedPlatform {
  receiver: OtlpReceiver;
  url: string;
  gateway: GatewayProcess;
  sidecars: SidecarProcess[];
  /** Every process's output, for a failing wait. */
  outputs(): string;
  stop(): Promise<void>;
}

/**
 * The processes of a traced call: an OTLP receiver, the gateway (tools from `tools`), one Node or Python
 * runtime and `asya sidecar` per actor, and both crew commands, all exporting to the receiver.
 */
async function startTracedPlatform(options: {
  name: TransportName;
  session: ReturnType<typeof brokerSession>;
  work: string;
  tools: string;
  actors: Array<{ actor: string; kind: 'node' | 'python'; fixture: string }>;
  ends: { happy: string; error: string };
  suffix: string;
  /** For every process: the gateway, the sidecars, the runtimes and the crew. */
  env?: Record<string, string>;
  runtimeEnv?: Record<string, string>;
}): Promise<TracedPlatform> {
  const { name, session, work, ends, suffix } = options;
  const dlqQueue = `tr-dlq-${suffix}`;
  const receiver = await startOtlpReceiver();
  const schema = await testSchema(`trace_${name}`);
  writeFileSync(join(work, 'tools.yaml'), options.tools);
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100', ...options.env };
  const broker = session.env();
  const gateway = runGatewayProcess(['--config', join(work, 'tools.yaml')], {
    ...broker, ...otel, ASYA_GATEWAY_HOST: '127.0.0.1', ASYA_GATEWAY_PORT: '0', ASYA_GATEWAY_AUTH: 'none', ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name,
  });
  const runtimes: RuntimeProcess[] = [];
  const sidecars: SidecarProcess[] = [];
  const stop = async () => {
    for (const s of sidecars) s.child.kill('SIGTERM');
    await Promise.all(sidecars.map((s) => s.exited));
    await Promise.all(runtimes.map((r) => r.stop()));
    gateway.kill('SIGTERM');
    await gateway.exited;
    await schema.drop();
    await receiver.close();
    // The queues the sidecars and the crew made outlive them on a shared broker.
    const made = [...options.actors.map((a) => a.actor), ends.happy, ends.error].map(queueName);
    const transport = await session.makeTransport().catch(() => undefined);
    if (transport) await deleteQueuesWithDeadLetters(transport, [...made, dlqQueue]).finally(() => transport.close());
  };
  try {
    const url = await gateway.listening();
    const common = {
      ...broker, ...otel, ASYA_GATEWAY_URL: url, ASYA_ACTOR_HAPPY_END: ends.happy, ASYA_ACTOR_ERROR_END: ends.error,
      ASYA_RETRY_POLICY: JSON.stringify({ maxAttempts: 3, ...TEST_BROKERS[name].retry, maxDelaySeconds: 5, jitter: false }),
    };
    for (const { actor, kind, fixture } of options.actors) {
      // The runtime makes its socket directory, and removes it when it stops.
      const runtime = await startRuntime(kind, { handler: fixtureHandler(kind, fixture), ...(options.env || options.runtimeEnv ? { env: { ...options.env, ...options.runtimeEnv } } : {}) });
      runtimes.push(runtime);
      sidecars.push(spawnSidecar({ ...common, ASYA_ACTOR_NAME: actor, ASYA_SOCKET_DIR: runtime.dir }));
    }
    const crewEnv = { ...common, ...session.storageEnv('trace'), ASYA_DLQ_QUEUE: dlqQueue, ASYA_RUNTIME_READY_TIMEOUT: '60s' };
    sidecars.push(spawnSidecar(crewEnv, ['crew', 'happy-end']), spawnSidecar(crewEnv, ['crew', 'error-end']));
    await Promise.all(sidecars.map((s) => s.consuming));
    return { receiver, url, gateway, sidecars, outputs: () => [gateway.output(), ...sidecars.map((s) => s.output())].join('\n----\n'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A REST tool call with the caller's traceparent; answers the envelope id once the call succeeded. */
async function tracedCall(url: string, traceparent: string, tool: string, args: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/tools/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent },
    body: JSON.stringify({ name: tool, arguments: args }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const id = (JSON.parse(((await res.json()) as { content: Array<{ text: string }> }).content[0]!.text) as { envelope_id: string }).envelope_id;
  await expect.poll(async () => ((await (await fetch(`${url}/envelopes/${id}`)).json()) as { status: string }).status, { timeout: 60_000, interval: 200 }).toBe('succeeded');
  return id;
}

function traceSuite(name: TransportName, system: string): void {
  describe(`one trace per tool call on ${TEST_BROKERS[name].label}`, () => {
    const session = brokerSession(name);
    const suffix = randomUUID().slice(0, 8);
    const actors = { flaky: `tr-flaky-${suffix}`, fan: `tr-fan-${suffix}`, echo: `tr-echo-${suffix}` };
    const ends = { happy: `tr-happy-${suffix}`, error: `tr-error-${suffix}` };
    let platform: TracedPlatform;
    let work: string;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'asya-trace-'));
      platform = await startTracedPlatform({
        name, session, work, ends, suffix,
        tools: `tools:\n- name: traced\n  parameters: {counter: {type: string, required: true}, failures: {type: integer}}\n  route: [${actors.flaky}, ${actors.fan}, ${actors.echo}]\n`,
        actors: [
          { actor: actors.flaky, kind: 'node', fixture: 'flaky' },
          { actor: actors.fan, kind: 'node', fixture: 'fanout' },
          { actor: actors.echo, kind: 'node', fixture: 'echo' },
        ],
      });
    }, 180_000);

    afterAll(async () => {
      await platform?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
    }, 60_000);

    const unsampled = randomUUID().replaceAll('-', '');

    // First: the traced call after it waits for its own last spans, by which time any span this call had
    // wrongly exported would be in too (the test below looks again).
    test("a caller's unsampled trace is recorded nowhere (every sampler follows the caller), retry and fan-out included", async () => {
      await tracedCall(platform.url, `00-${unsampled}-${unsampled.slice(0, 16)}-00`, 'traced', { counter: join(work, `${randomUUID()}.log`), failures: 1 });
      expect(platform.receiver.spans.filter((s) => s.traceId === unsampled)).toEqual([]);
    }, 120_000);

    test('gateway, hops, fan-out, retry and crew form one trace, each hop under the hop that sent it', async () => {
      const { receiver, url, outputs } = platform;
      const id = await tracedCall(url, `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, 'traced', { counter: join(work, `${randomUUID()}.log`), failures: 1 });

      const ours = () => receiver.spans.filter((s) => String(s.attributes['asya.envelope.id'] ?? '').startsWith(id));
      const named = (n: string) => receiver.spans.filter((s) => s.name === n && s.traceId === CALLER_TRACE);
      // Every span is exported within a moment of its end; the last are the crew's happy-end spans.
      await waitUntil(() => named('happy-end').length === 3 && named(`process ${queueName(ends.happy)}`).length === 3, 30_000, `3 happy-end spans\n${outputs()}`);

      // One trace id: the caller's, on every span of the call, from every process.
      expect(new Set(ours().map((s) => s.traceId))).toEqual(new Set([CALLER_TRACE]));
      const trace = receiver.spans.filter((s) => s.traceId === CALLER_TRACE);
      expect(new Set(trace.map((s) => s.service))).toEqual(new Set(['asya-gateway', 'asya-sidecar', 'asya-crew']));
      const byId = new Map(trace.map((s) => [s.spanId, s]));
      const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);
      const one = (list: ReceivedSpan[], what: string) => {
        expect(list, what).toHaveLength(1);
        return list[0]!;
      };

      // The gateway: the tool call continues the caller's span; its publish is its child.
      const call = one(named('tools/call traced'), 'tool call span');
      expect(call).toMatchObject({ service: 'asya-gateway', kind: SPAN_KIND.server, parentSpanId: CALLER_SPAN, attributes: { 'asya.envelope.id': id, 'asya.via': 'rest' } });
      const firstSend = one(named(`send ${queueName(actors.flaky)}`).filter((s) => s.service === 'asya-gateway'), 'gateway publish');
      expect(firstSend.parentSpanId).toBe(call.spanId);
      expect(firstSend).toMatchObject({ kind: SPAN_KIND.producer, attributes: { 'messaging.system': system, 'messaging.operation.type': 'send', 'messaging.destination.name': queueName(actors.flaky) } });

      // The flaky step: the first attempt failed (error status, exception event with the code) ...
      const flakyHops = named(`process ${queueName(actors.flaky)}`);
      expect(flakyHops).toHaveLength(2);
      const failed = one(flakyHops.filter((s) => s.statusCode === 2), 'failed attempt');
      const retried = one(flakyHops.filter((s) => s.statusCode !== 2), 'retried attempt');
      expect(parentOf(failed)).toBe(call);
      expect(failed.attributes['error.type']).toBe('processing_error');
      expect(failed.events).toContainEqual({ name: 'exception', attributes: expect.objectContaining({ 'exception.type': 'processing_error' }) });
      const failedRuntime = one(trace.filter((s) => s.name === `runtime ${actors.flaky}` && s.parentSpanId === failed.spanId), 'failed runtime call');
      expect(failedRuntime.statusCode).toBe(2);
      // ... went to error-end, whose crew span scheduled retry 1 ...
      const errorHop = one(named(`process ${queueName(ends.error)}`), 'error-end hop');
      expect(parentOf(errorHop)).toBe(failed);
      const errorCrew = one(named('error-end'), 'error-end crew span');
      expect(parentOf(parentOf(errorCrew)!)).toBe(errorHop);
      expect(errorCrew).toMatchObject({ service: 'asya-crew', attributes: { 'asya.retry.attempt': 1, 'asya.retry.actor': actors.flaky } });
      // ... and the retry is its own span, under error-end and linked to the failed attempt.
      expect(parentOf(retried)).toBe(errorHop);
      expect(retried.links).toEqual([{ traceId: CALLER_TRACE, spanId: failed.spanId, attributes: { 'asya.link': 'retry_of' } }]);
      expect(retried.attributes['asya.retry']).toBe(true);

      // The fan-out hangs under the successful attempt; each of its 3 children's hop under the fan-out's hop.
      const fan = one(named(`process ${queueName(actors.fan)}`), 'fan-out hop');
      expect(parentOf(fan)).toBe(retried);
      const echoes = named(`process ${queueName(actors.echo)}`);
      expect(echoes.map((s) => s.attributes['asya.envelope.id']).sort()).toEqual([`${id}-0`, `${id}-1`, `${id}-2`]);
      for (const echo of echoes) expect(parentOf(echo)).toBe(fan);
      expect(named(`send ${queueName(actors.echo)}`).map((s) => s.parentSpanId)).toEqual([fan.spanId, fan.spanId, fan.spanId]);

      // happy-end: each child's end hop under its echo hop, the crew's span under that hop's runtime call.
      for (const end of named(`process ${queueName(ends.happy)}`)) {
        const echo = parentOf(end)!;
        expect(echoes).toContain(echo);
        expect(end.attributes['asya.envelope.id']).toBe(echo.attributes['asya.envelope.id']);
        const runtime = one(trace.filter((s) => s.name === `runtime ${ends.happy}` && s.parentSpanId === end.spanId), 'happy-end runtime call');
        one(named('happy-end').filter((s) => s.parentSpanId === runtime.spanId), 'happy-end crew span');
      }

      // Messaging semantic conventions on every hop.
      const hops = trace.filter((s) => s.name.startsWith('process '));
      expect(hops).toHaveLength(2 + 1 + 1 + 3 + 3);
      for (const hop of hops) {
        expect(hop.kind).toBe(SPAN_KIND.consumer);
        expect(hop.attributes).toMatchObject({
          'messaging.system': system,
          'messaging.operation.type': 'process',
          'messaging.destination.name': hop.name.slice('process '.length),
          'messaging.message.id': hop.attributes['asya.envelope.id'],
          'asya.actor': expect.any(String),
        });
      }
      for (const send of trace.filter((s) => s.name.startsWith('send '))) expect(send.kind).toBe(SPAN_KIND.producer);
      expect(receiver.refused).toEqual([]);
      expect(receiver.spans.filter((s) => s.traceId === unsampled)).toEqual([]);

      // The whole tree, as docs/operations.md shows it.
      const tree = traceTree(trace).replaceAll(`-${suffix}`, '');
      if (process.env.ASYA_TEST_TRACE_TREE) writeFileSync(process.env.ASYA_TEST_TRACE_TREE, `${traceTree(trace, { durations: true }).replaceAll(`-${suffix}`, '')}\n`);
      expect(tree).toBe(EXPECTED_TREE.trim());
    }, 120_000);
  });
}

traceSuite('rabbitmq', 'rabbitmq');
traceSuite('sqs', 'aws_sqs');

/**
 * The claim check (docs/payloads.md) keeps the trace: a payload over ASYA_PAYLOAD_OFFLOAD_BYTES travels as a
 * reference from the gateway on, each sidecar hands its runtime the resolved payload with the runtime span
 * as traceparent (Node, then Python), and each hop still hangs under the hop that sent it.
 */
describe('a claim-checked payload keeps the trace', () => {
  const session = brokerSession('rabbitmq');
  const suffix = randomUUID().slice(0, 8);
  const actors = { node: `tr-cc-node-${suffix}`, python: `tr-cc-py-${suffix}` };
  const ends = { happy: `tr-happy-${suffix}`, error: `tr-error-${suffix}` };
  const trace = randomUUID().replaceAll('-', '');
  let platform: TracedPlatform;
  let work: string;
  let store: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'asya-trace-cc-'));
    store = mkdtempSync(join(tmpdir(), 'asya-trace-cc-store-'));
    platform = await startTracedPlatform({
      name: 'rabbitmq', session, work, ends, suffix,
      tools: `tools:\n- name: big\n  parameters: {text: {type: string, required: true}}\n  route: [${actors.node}, ${actors.python}]\n`,
      actors: [
        { actor: actors.node, kind: 'node', fixture: 'trace_seen' },
        { actor: actors.python, kind: 'python', fixture: 'trace_seen' },
      ],
      env: { ASYA_PAYLOAD_STORE: store, ASYA_PAYLOAD_OFFLOAD_BYTES: '1024' },
      runtimeEnv: { ASYA_HANDLER_MODE: 'envelope' },
    });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
    for (const dir of [work, store]) if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('every hop under the one before, and each runtime handed its own span', async () => {
    const { receiver, url, outputs } = platform;
    const id = await tracedCall(url, `00-${trace}-${trace.slice(0, 16)}-01`, 'big', { text: 'x'.repeat(8 * 1024) });
    const spans = () => receiver.spans.filter((s) => s.traceId === trace);
    const named = (n: string) => spans().filter((s) => s.name === n);
    // The last spans to end: happy-end's crew span, and the hop around it, once the delivery is settled.
    await waitUntil(() => named('happy-end').length === 1 && named(`process ${queueName(ends.happy)}`).length === 1, 30_000, `the happy-end spans\n${outputs()}`);
    // The payload did travel by reference: the gateway's and each actor's payloads are in the store.
    expect(readdirSync(store, { recursive: true }).filter((f) => String(f).endsWith('.json')).length, readdirSync(store, { recursive: true }).join(', ')).toBeGreaterThanOrEqual(3);

    const one = (n: string) => {
      const found = named(n);
      expect(found, n).toHaveLength(1);
      return found[0]!;
    };
    const call = one('tools/call big');
    const nodeHop = one(`process ${queueName(actors.node)}`);
    const pythonHop = one(`process ${queueName(actors.python)}`);
    const endHop = one(`process ${queueName(ends.happy)}`);
    expect(nodeHop.parentSpanId).toBe(call.spanId);
    expect(pythonHop.parentSpanId).toBe(nodeHop.spanId);
    expect(endHop.parentSpanId).toBe(pythonHop.spanId);
    for (const hop of [nodeHop, pythonHop, endHop]) expect(hop.attributes['asya.envelope.id']).toBe(id);

    // Each handler read its runtime span's traceparent from the envelope's headers, resolved payload and all.
    const view = (await (await fetch(`${url}/envelopes/${id}`)).json()) as { result: { text: string; seen: string[] } };
    expect(view.result.text).toHaveLength(8 * 1024);
    const runtimeSpans = [one(`runtime ${actors.node}`), one(`runtime ${actors.python}`)];
    expect(runtimeSpans.map((s) => s.parentSpanId)).toEqual([nodeHop.spanId, pythonHop.spanId]);
    expect(view.result.seen).toEqual(runtimeSpans.map((s) => `00-${trace}-${s.spanId}-01`));
    expect(receiver.refused).toEqual([]);
  }, 120_000);
});
