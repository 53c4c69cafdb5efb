/**
 * The crew end to end, once per transport (test/crew-<transport>.test.ts): real actors (runtime processes
 * behind sidecars), happy-end and error-end started by `startCrew` exactly as `asya crew` starts them (the
 * Node runtime running crew/*.ts, sidecars in end-actor mode). The gateway is a recording stand-in
 * (test/support/fake-gateway.ts) that answers 200 and keeps every report, so these tests count what the crew
 * sends; the same scenarios against the real gateway and its PostgreSQL store are in test/e2e.case.ts.
 * End actors, the DLQ queue and actors get names of their own, so files may share a broker.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { dlqCommand } from '../cli/dlq.ts';
import type { RunningCrew } from '../cli/crew.ts';
import { storageFromEnv, type Storage } from '../crew/storage.ts';
import { queueName, type DeadLetterRecord } from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';
import { startFakeGateway, type FakeGateway } from './support/fake-gateway.ts';
import { envelopeBody, startActor, startTestCrew, type Actor } from './support/pipeline.ts';
import { deleteQueuesWithDeadLetters, DLQ_IDLE_MS, waitDrained } from './support/queues.ts';
import { scheduledPauses } from './support/retries.ts';
import type { RuntimeKind } from './support/runtime-process.ts';

export interface CrewSuiteOptions {
  makeTransport: () => Promise<Transport>;
  /** Where the crew stores envelopes: ASYA_RESULTS_DIR or the S3 variables. */
  storageEnv: () => Record<string, string>;
  /** Backoff for the failing actors; SQS delays round up to whole seconds, so its steps must be wider. */
  retry: { initialDelaySeconds: number; multiplier: number };
}

export interface CrewWorld {
  transport: Transport;
  gateway: FakeGateway;
  storage: Storage;
  happy: RunningCrew;
  error: RunningCrew;
  /** ASYA_ACTOR_HAPPY_END / ASYA_ACTOR_ERROR_END for every actor of this world. */
  endEnv: Record<string, string>;
  dlqQueue: string;
  finals(id: string): Array<{ status: string; [key: string]: unknown }>;
  progress(id: string): string[];
  stop(): Promise<void>;
}

/** Gateway, storage and both crews on one transport. */
export async function startCrewWorld(transport: Transport, storageEnv: Record<string, string>): Promise<CrewWorld> {
  const gateway = await startFakeGateway();
  const suffix = randomUUID().slice(0, 8);
  const endEnv = { ASYA_ACTOR_HAPPY_END: `happy-end-${suffix}`, ASYA_ACTOR_ERROR_END: `error-end-${suffix}` };
  const dlqQueue = `asya-dlq-${suffix}`;
  const env = {
    ...process.env,
    ...endEnv,
    ...storageEnv,
    ASYA_GATEWAY_URL: gateway.url,
    ASYA_DLQ_QUEUE: dlqQueue,
    ASYA_METRICS_ENABLED: 'false',
    ASYA_LOG_LEVEL: 'ERROR',
    ASYA_RUNTIME_READY_TIMEOUT: '60s',
  };
  const [happy, error] = await Promise.all([startTestCrew('happy-end', { env, transport }), startTestCrew('error-end', { env, transport })]);
  const reports = (id: string, kind: string) => gateway.requests.filter((r) => r.path === `/envelopes/${id}/${kind}`);
  return {
    transport,
    gateway,
    storage: storageFromEnv(storageEnv),
    happy,
    error,
    endEnv,
    dlqQueue,
    finals: (id) => reports(id, 'final').map((r) => r.body),
    progress: (id) => reports(id, 'progress').map((r) => String(r.body.message)),
    async stop() {
      await Promise.all([happy.stop(), error.stop()]);
      await deleteQueuesWithDeadLetters(transport, [happy.name, error.name].map(queueName));
      await transport.deleteQueue(dlqQueue).catch(() => {});
      await gateway.close();
    },
  };
}

/** The records on the DLQ queue, read with `asya dlq list --json`. */
export async function deadLetters(world: CrewWorld): Promise<DeadLetterRecord[]> {
  let text = '';
  const code = await dlqCommand(['list', '--json', '--queue', world.dlqQueue], { transport: world.transport, out: (t) => (text += t), idleMs: DLQ_IDLE_MS });
  expect(code).toBe(0);
  return JSON.parse(text) as DeadLetterRecord[];
}

export function crewSuite(label: string, options: CrewSuiteOptions): void {
  describe(`the crew on ${label}`, () => {
    let world: CrewWorld;
    let transport: Transport;
    let work: string;
    const actors: Actor[] = [];
    const policy = (extra: Record<string, unknown> = {}) => JSON.stringify({ ...options.retry, jitter: false, ...extra });
    const actor = async (base: string, fixture: string, kind: RuntimeKind = 'node', extra: Record<string, string> = {}) => {
      const a = await startActor(transport, `${base}-${randomUUID().slice(0, 8)}`, {
        kind,
        fixture,
        sidecarEnv: { ...world.endEnv, ASYA_GATEWAY_URL: world.gateway.url, ASYA_RETRY_POLICY: policy(), ...extra },
      });
      actors.push(a);
      return a;
    };
    const send = async (route: string[], payload: unknown) => {
      const id = randomUUID();
      await transport.publish(queueName(route[0]!), envelopeBody(id, route, payload));
      return id;
    };
    const finalOf = async (id: string, timeout = 60_000) => {
      await expect.poll(() => world.finals(id).length, { timeout }).toBeGreaterThan(0);
      return world.finals(id)[0]!;
    };
    /** Everything this world's queues hold has been handled (acked), including delayed retries. */
    const drained = (queues: string[]) => waitDrained(transport, queues, 30_000);
    const stored = async (prefix: string, id: string) => (await world.storage.list(prefix)).filter((k) => !k.includes('/ids/') && k.endsWith(`/${id}.json`));

    beforeAll(async () => {
      transport = await options.makeTransport();
      work = mkdtempSync(join(tmpdir(), 'asya-crew-e2e-'));
      world = await startCrewWorld(transport, options.storageEnv());
    });
    afterEach(async () => {
      for (const a of actors.splice(0)) {
        await a.stop();
        await deleteQueuesWithDeadLetters(transport, [queueName(a.name)]);
      }
    });
    afterAll(async () => {
      await world?.stop();
      await transport?.close();
      rmSync(work, { recursive: true, force: true });
    });

    test('three actors: one stored object under the last actor, one succeeded final with the result and where it is stored', async () => {
      const [a, b, c] = await Promise.all([actor('one', 'echo'), actor('two', 'echo'), actor('three', 'echo')]);
      const id = await send([a!.name, b!.name, c!.name], { hello: 'world' });
      const final = await finalOf(id);
      const keys = await stored('happy-asya/', id);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(new RegExp(`^happy-asya/\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z/${c!.name}/${id}\\.json$`));
      expect(final).toMatchObject({ id, status: 'succeeded', progress: 1, result: { hello: 'world' }, metadata: { storage_uri: world.storage.uri(keys[0]!) } });
      expect(JSON.parse((await world.storage.get(keys[0]!))!)).toMatchObject({ id, route: { current: 3 }, payload: { hello: 'world' } });
      await drained([queueName(world.happy.name)]);
      expect(world.finals(id)).toHaveLength(1);
    });

    test('a handler that fails once (Python) is retried and succeeds; the gateway saw "retry 1/3"', async () => {
      const f = await actor('flaky', 'flaky', 'python');
      const counter = join(work, `${randomUUID()}.log`);
      const id = await send([f.name], { counter, failures: 1 });
      const final = await finalOf(id);
      expect(final).toMatchObject({ status: 'succeeded', result: { attempts: 2 } });
      expect(world.progress(id).some((m) => /^retry 1\/3 in \d+\.\d s$/.test(m))).toBe(true);
      expect(await stored('error-asya/', id)).toEqual([]);
    });

    test('always failing: 3 attempts with growing pauses, a DLQ record and failed; replayed after a fix it reaches happy-end', async () => {
      const g = await actor('doomed', 'flaky');
      const counter = join(work, `${randomUUID()}.log`);
      const fixed = join(work, `${randomUUID()}.fixed`);
      const id = await send([g.name], { counter, failures: 99, fixed });
      const failed = await finalOf(id);
      expect(failed).toMatchObject({ status: 'failed', error: 'processing_error', error_details: { type: 'ValueError', message: 'flaky failure on attempt 3' }, current_actor_name: g.name });
      // error-end announced the pauses it scheduled, growing per the policy; each retry came no earlier
      // than the pause scheduled before it (delays promise "not before").
      const scheduled = scheduledPauses({ ASYA_RETRY_POLICY: policy() }, 2);
      expect(world.progress(id).filter((m) => m.startsWith('retry '))).toEqual(scheduled.map((p) => p.message));
      expect(scheduled[1]!.ms).toBeGreaterThan(scheduled[0]!.ms);
      const times = readFileSync(counter, 'utf8').trim().split('\n').map(Number);
      expect(times).toHaveLength(3);
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(scheduled[0]!.ms);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(scheduled[1]!.ms);
      await expect.poll(async () => (await deadLetters(world)).filter((r) => r.id === id).length, { timeout: 30_000 }).toBe(1);
      const record = (await deadLetters(world)).find((r) => r.id === id)!;
      expect(record).toMatchObject({ failed_actor: g.name, code: 'processing_error', attempts: 3, envelope: { id, payload: { counter, failures: 99, fixed } } });
      expect(await stored('error-asya/', id)).toEqual([expect.stringMatching(new RegExp(`/${g.name}/${id}\\.json$`))]);
      expect(record.storage_uri).toBe(world.storage.uri((await stored('error-asya/', id))[0]!));

      writeFileSync(fixed, 'fixed');
      let out = '';
      expect(await dlqCommand(['replay', id, '--queue', world.dlqQueue], { transport, out: (t) => (out += t), idleMs: DLQ_IDLE_MS })).toBe(0);
      expect(out).toContain(`replayed ${id} → ${queueName(g.name)}`);
      await expect.poll(() => world.finals(id).map((f) => f.status), { timeout: 30_000 }).toEqual(['failed', 'succeeded']);
      expect(world.finals(id)[1]).toMatchObject({ result: { attempts: 4, fixed } });
      expect((await deadLetters(world)).filter((r) => r.id === id)).toEqual([]);
      expect(await dlqCommand(['show', id, '--queue', world.dlqQueue], { transport, out: () => {}, err: () => {}, idleMs: DLQ_IDLE_MS })).toBe(1);
    });

    test('an envelope delivered to happy-end three times is stored once and reported once', async () => {
      const id = randomUUID();
      const body = Buffer.from(JSON.stringify({ id, route: { actors: ['somebody'], current: 1 }, payload: { n: 1 } }));
      for (let i = 0; i < 3; i++) await transport.publish(queueName(world.happy.name), body);
      await finalOf(id);
      await drained([queueName(world.happy.name)]);
      expect(world.finals(id)).toHaveLength(1);
      expect(await stored('happy-asya/', id)).toHaveLength(1);
    });

    test('malformed messages to error-end end in a DLQ, once, without a loop', async () => {
      const notAnError = randomUUID();
      const errorQueue = queueName(world.error.name);
      await transport.publish(errorQueue, Buffer.from(JSON.stringify({ id: notAnError, route: { actors: ['x'], current: 0 }, payload: { hello: 'x' } })));
      await transport.publish(errorQueue, Buffer.from('{"id": "broken'));
      await transport.publish(errorQueue, Buffer.from(JSON.stringify({ route: { actors: ['x'], current: 0 }, payload: { error: 'no id' } })));
      await expect.poll(async () => (await deadLetters(world)).filter((r) => r.id === notAnError).length, { timeout: 30_000 }).toBe(1);
      const record = (await deadLetters(world)).find((r) => r.id === notAnError)!;
      expect(record).toMatchObject({ failed_actor: null, code: 'invalid_error_envelope', attempts: 0, envelope: { payload: { hello: 'x' } } });
      expect(world.finals(notAnError)).toEqual([expect.objectContaining({ status: 'failed', error: expect.stringMatching(/^invalid_error_envelope: /) })]);
      // What error-end's sidecar cannot read at all goes to error-end's own DLQ, never back to error-end.
      await expect.poll(async () => (await transport.queueDepth(`${errorQueue}-dlq`)).ready, { timeout: 30_000 }).toBe(2);
      await drained([errorQueue]);
      expect((await deadLetters(world)).filter((r) => r.id === notAnError)).toHaveLength(1);
    });

    test('asya dlq: unknown ids and bad usage give clear errors and exit codes', async () => {
      let err = '';
      const io = { transport, out: () => {}, err: (t: string) => (err += t), idleMs: DLQ_IDLE_MS };
      expect(await dlqCommand(['replay', 'no-such-id', '--queue', world.dlqQueue], io)).toBe(1);
      expect(err).toContain(`no dead letter with id no-such-id in ${world.dlqQueue}`);
      expect(await dlqCommand(['replay'], io)).toBe(2);
      expect(await dlqCommand(['frobnicate'], io)).toBe(2);
    });

    test('asya dlq list shows a table; replay --all sends back what it can and leaves the rest', async () => {
      const a = await actor('again', 'echo');
      const good = randomUUID();
      const orphan = randomUUID();
      const record = (id: string, failedActor: string | null) => ({
        id, failed_actor: failedActor, error: 'processing_error', code: 'processing_error', attempts: 3, dead_lettered_at: new Date().toISOString(),
        envelope: { id, route: { actors: [a.name], current: 0 }, headers: { 'x-asya-attempts': { [a.name]: 3 } }, payload: { back: true } },
      });
      await transport.publish(world.dlqQueue, Buffer.from(JSON.stringify(record(good, a.name))));
      await transport.publish(world.dlqQueue, Buffer.from(JSON.stringify(record(orphan, null))));
      let out = '';
      let err = '';
      const io = { transport, out: (t: string) => (out += t), err: (t: string) => (err += t), idleMs: DLQ_IDLE_MS };
      await expect.poll(async () => (await deadLetters(world)).filter((r) => r.id === good || r.id === orphan).length, { timeout: 30_000 }).toBe(2);
      expect(await dlqCommand(['list', '--queue', world.dlqQueue], io)).toBe(0);
      expect(out).toMatch(/^ID +FAILED ACTOR +CODE +ATTEMPTS +DEAD-LETTERED AT +ERROR\n/);
      expect(out).toMatch(new RegExp(`${good} +${a.name} +processing_error +3 `));
      out = '';
      expect(await dlqCommand(['replay', '--all', '--queue', world.dlqQueue], io)).toBe(1);
      expect(out).toContain(`replayed ${good} → ${queueName(a.name)}`);
      expect(err).toContain(`could not replay ${orphan} (left in ${world.dlqQueue}): ${orphan} has no failed actor`);
      await expect.poll(() => world.finals(good).map((f) => f.status), { timeout: 30_000 }).toEqual(['succeeded']);
      const left = (await deadLetters(world)).map((r) => r.id);
      expect(left).toContain(orphan);
      expect(left).not.toContain(good);
    });
  });
}
