/**
 * The sidecar's end-to-end behaviour, run once per transport (test/sidecar-<transport>.test.ts) with real
 * runtime processes. Each test uses its own actor names, so queues never collide.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';
import { waitForDepth } from '../transport/conformance-helpers.ts';
import { collectEnds, envelopeBody, startActor, type Actor, type ActorOptions } from './support/pipeline.ts';
import type { RuntimeKind } from './support/runtime-process.ts';
import { capturingLogger } from './support/capture-logger.ts';
import { fixtureGate, type FixtureGate } from './support/gated-handler.ts';
import { deleteQueuesWithDeadLetters, waitDrained } from './support/queues.ts';

export interface SidecarSuiteOptions {
  /** A fresh transport per test file. */
  makeTransport: () => Promise<Transport>;
  runtimes: RuntimeKind[];
  /** Largest body the transport takes (SQS: 256 KiB). */
  maxBody?: number;
  /** The broker is shared with other test files: use end queues of our own and delete our queues after. */
  shared?: boolean;
}

export function sidecarSuite(label: string, options: SidecarSuiteOptions): void {
  for (const kind of options.runtimes) {
    describe(`sidecar on ${label} with the ${kind} runtime`, () => {
      let transport: Transport;
      let ends: Awaited<ReturnType<typeof collectEnds>>;
      let counters: string;
      const actors: Actor[] = [];
      const gates: FixtureGate[] = [];
      const unique = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;
      const actor = async (base: string, fixture: string, extra: Partial<ActorOptions> = {}) => {
        const a = await startActor(transport, unique(base), { kind, fixture, ...extra, sidecarEnv: { ...ends.sidecarEnv, ...extra.sidecarEnv } });
        actors.push(a);
        return a;
      };
      const send = (actorsRoute: string[], payload: unknown, extra: Record<string, unknown> = {}) => {
        const id = randomUUID();
        return transport.publish(queueName(actorsRoute[0]!), envelopeBody(id, actorsRoute, payload, extra)).then(() => id);
      };

      beforeAll(async () => {
        transport = await options.makeTransport();
        ends = await collectEnds(transport, [], options.shared ?? false);
        counters = mkdtempSync(join(tmpdir(), 'asya-sidecar-counters-'));
      });
      afterEach(async () => {
        // A failed test may have left a call held in the gated fixture, which a stopping runtime would wait for.
        const opened = gates.splice(0);
        for (const gate of opened) gate.open();
        const done = actors.splice(0);
        await Promise.all(done.map((a) => a.stop()));
        for (const gate of opened) gate.dispose();
        if (options.shared) {
          await deleteQueuesWithDeadLetters(transport, done.map((a) => queueName(a.name)));
        }
      });
      afterAll(async () => {
        await ends?.stop();
        await transport?.close();
        if (counters) rmSync(counters, { recursive: true, force: true });
      });

      test('three actors in a row reach happy-end, with headers carried through', async () => {
        const [a, b, c] = await Promise.all([actor('one', 'echo'), actor('two', 'echo'), actor('three', 'echo')]);
        const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
        const id = await send([a!.name, b!.name, c!.name], { hello: 'world' }, { headers });
        await ends.waitForIds([id]);
        const [arrival] = ends.byId(id);
        expect(ends.byId(id)).toHaveLength(1);
        expect(arrival!.queue).toBe(ends.happyQueue);
        expect(arrival!.envelope).toMatchObject({ id, headers, payload: { hello: 'world' }, route: { current: 3 } });
      });

      test('a handler error reaches error-end with details and the original payload', async () => {
        const a = await actor('failing', 'fail');
        const id = await send([a.name], { message: 'Intentional test failure' });
        await ends.waitForIds([id]);
        const [arrival] = ends.byId(id);
        expect(arrival!.queue).toBe(ends.errorQueue);
        expect(arrival!.envelope.payload).toMatchObject({
          error: 'processing_error',
          code: 'processing_error',
          details: { message: 'Intentional test failure', type: 'ValueError' },
          original_payload: { message: 'Intentional test failure' },
          failed_actor: a.name,
        });
        expect(arrival!.envelope.route).toEqual({ actors: [a.name], current: 0 });
      });

      test('an empty result goes to happy-end, not to the next actor', async () => {
        const a = await actor('empty', 'empty');
        const id = await send([a.name, 'should-not-reach'], { keep: 'me' });
        await ends.waitForIds([id]);
        expect(ends.byId(id)).toEqual([{ queue: ends.happyQueue, envelope: expect.objectContaining({ id, payload: { keep: 'me' } }) }]);
      });

      test('fan-out of 3 then nested fan-out: unique ids, each with its parent_id', async () => {
        const [a, b] = await Promise.all([actor('fan', 'fanout'), actor('fan2', 'fanout')]);
        const id = await send([a!.name, b!.name], { count: 3 });
        // b receives {index, of} payloads without `count`, so it fans out 3 again: 9 leaves.
        const all = await ends.waitFor((arr) => arr.filter((x) => x.envelope.id.startsWith(id)).length >= 9);
        const leaves = all.filter((x) => x.envelope.id.startsWith(id));
        expect(leaves).toHaveLength(9);
        expect(new Set(leaves.map((l) => l.envelope.id)).size).toBe(9);
        for (const leaf of leaves) {
          expect(leaf.queue).toBe(ends.happyQueue);
          expect(leaf.envelope.id).toMatch(new RegExp(`^${id}-[0-2]-[0-2]$`));
          expect(leaf.envelope.parent_id).toBe(leaf.envelope.id.slice(0, -2));
        }
      });

      test('a route mismatch, a malformed body and a missing id all reach error-end', async () => {
        const a = await actor('strict', 'echo');
        const mismatch = randomUUID();
        await transport.publish(queueName(a.name), envelopeBody(mismatch, ['someone-else', a.name], {}));
        await transport.publish(queueName(a.name), Buffer.from('{"id": "broken-json", '));
        await transport.publish(queueName(a.name), Buffer.from(JSON.stringify({ route: { actors: [a.name], current: 0 }, payload: { no: 'id' } })));
        const all = await ends.waitFor((arr) => arr.filter((x) => x.envelope.payload?.failed_actor === a.name).length >= 3);
        const mine = all.filter((x) => x.envelope.payload?.failed_actor === a.name);
        expect(mine.every((x) => x.queue === ends.errorQueue)).toBe(true);
        expect(mine.map((x) => x.envelope.payload.code).sort()).toEqual(['parse_error', 'route_mismatch', 'validation_error']);
        const routeError = mine.find((x) => x.envelope.payload.code === 'route_mismatch')!;
        expect(routeError.envelope.payload.error).toBe(`Route mismatch: message routed to wrong actor (expected: ${a.name}, actual: someone-else)`);
      });

      test('a route to an actor without a queue: error-end once, naming the queue, and the handler ran once', async () => {
        const counter = join(counters, `${randomUUID()}.log`);
        const a = await actor('noqueue', 'flaky');
        const missing = unique('nobody-home');
        const id = await send([a.name, missing], { counter, failures: 0 });
        await ends.waitForIds([id]);
        const [arrival] = ends.byId(id);
        expect(arrival!.queue).toBe(ends.errorQueue);
        expect(arrival!.envelope.payload).toMatchObject({
          code: 'queue_not_found',
          failed_actor: a.name,
          details: { queue: queueName(missing) },
          original_payload: { counter, failures: 0 },
        });
        expect(arrival!.envelope.payload.error).toContain(queueName(missing));
        // The input was acked after the one report: its queue drains and nothing was run again.
        await waitForDepth(transport, queueName(a.name), { ready: 0, inFlight: 0, delayed: 0 });
        expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
        expect(ends.byId(id)).toHaveLength(1);
      });

      test('a malformed route reaches error-end as validation_error under its id', async () => {
        const a = await actor('badroute', 'echo');
        const routes = [
          { actors: [a.name], current: -1 },
          { actors: [a.name], current: '0' },
          { actors: [a.name], current: 7 },
          { actors: [a.name, 42], current: 0 },
          [a.name],
        ];
        const ids = routes.map(() => randomUUID());
        for (const [i, route] of routes.entries()) {
          await transport.publish(queueName(a.name), Buffer.from(JSON.stringify({ id: ids[i], route, payload: { i } })));
        }
        await ends.waitForIds(ids);
        for (const [i, id] of ids.entries()) {
          const arrivals = ends.byId(id);
          expect(arrivals).toHaveLength(1);
          expect(arrivals[0]!.queue).toBe(ends.errorQueue);
          expect(arrivals[0]!.envelope.payload).toMatchObject({ code: 'validation_error', failed_actor: a.name, original_payload: { i } });
          // What error-end gets is itself a valid envelope, or error-end could not read it either.
          expect(Number.isInteger(arrivals[0]!.envelope.route.current)).toBe(true);
          expect(arrivals[0]!.envelope.route.current).toBeGreaterThanOrEqual(0);
        }
        expect(ends.byId(ids[0]!)[0]!.envelope.payload.error).toContain('route.current=-1');
      });

      test('a payload nested 100,000 levels deep reaches error-end as nesting_too_deep, without the payload', async () => {
        const a = await actor('deep', 'echo');
        const id = randomUUID();
        const depth = 100_000;
        const body = `{"id":"${id}","route":{"actors":["${a.name}"],"current":0},"payload":${'['.repeat(depth)}${']'.repeat(depth)}}`;
        await transport.publish(queueName(a.name), Buffer.from(body));
        await ends.waitForIds([id]);
        const [arrival] = ends.byId(id);
        expect(arrival!.queue).toBe(ends.errorQueue);
        expect(arrival!.envelope.payload).toMatchObject({ code: 'nesting_too_deep', failed_actor: a.name, details: { body_bytes: body.length } });
        expect(arrival!.envelope.payload).not.toHaveProperty('original_payload');
        expect(arrival!.envelope.route).toEqual({ actors: [a.name], current: 0 });
        await waitForDepth(transport, queueName(a.name), { ready: 0, inFlight: 0, delayed: 0 });
      });

      test('non-JSON and invalid UTF-8 reach error-end as parse_error with their original bytes', async () => {
        const a = await actor('garbage', 'echo');
        const bodies = [
          Buffer.from('not json at all \u00e9'),
          Buffer.concat([Buffer.from(`{"id":"${randomUUID()}","route":{"actors":["${a.name}"],"current":0},"payload":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]),
        ];
        // SQS carries text only: its transport refuses invalid UTF-8 before it reaches a queue.
        const sendable = transport.kind === 'sqs' ? bodies.slice(0, 1) : bodies;
        for (const body of sendable) await transport.publish(queueName(a.name), body);
        const mine = (all: typeof ends.arrivals) => all.filter((x) => x.envelope.payload?.failed_actor === a.name);
        await ends.waitFor((all) => mine(all).length >= sendable.length);
        const received = mine(ends.arrivals);
        expect(received.map((x) => x.envelope.payload.code)).toEqual(sendable.map(() => 'parse_error'));
        const carried = received.map((x) => Buffer.from(x.envelope.payload.details.body_base64, 'base64'));
        expect(carried.map((b) => b.toString('hex')).sort()).toEqual(sendable.map((b) => b.toString('hex')).sort());
        if (sendable.length > 1) {
          const notUtf8 = received.find((x) => x.envelope.id !== '')!;
          expect(notUtf8.envelope.payload.error).toContain('not valid UTF-8');
        }
      });

      if (options.maxBody !== undefined) {
        test('a result over the transport limit: one payload_too_large error without the payload, the handler ran once', async () => {
          const counter = join(counters, `${randomUUID()}.log`);
          const a = await actor('toolarge', 'big');
          const id = await send([a.name], { size_mb: Math.ceil((2 * options.maxBody!) / (1024 * 1024)), counter });
          await ends.waitForIds([id]);
          const [arrival] = ends.byId(id);
          expect(arrival!.queue).toBe(ends.errorQueue);
          expect(arrival!.envelope.payload).toMatchObject({ code: 'payload_too_large', failed_actor: a.name });
          expect(arrival!.envelope.payload).not.toHaveProperty('original_payload');
          await waitForDepth(transport, queueName(a.name), { ready: 0, inFlight: 0, delayed: 0 });
          expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
        });
      }

      test('while the runtime is down the message waits, and is processed once it is up', async () => {
        const log = capturingLogger();
        const a = await actor('late', 'echo', { runtimeLater: true, log });
        await transport.ensureQueue(queueName(a.name), { maxDeliveries: 10 });
        const id = await send([a.name], { patient: true });
        // The sidecar is up and waiting for its runtime, and the message waits untouched in the queue.
        await expect.poll(() => log.matching('info', 'Waiting for the runtime').length, { timeout: 30_000 }).toBe(1);
        await expect.poll(async () => (await transport.queueDepth(queueName(a.name))).ready, { timeout: 30_000 }).toBe(1);
        expect(ends.byId(id)).toEqual([]);
        await a.runtime.start();
        await ends.waitForIds([id]);
        expect(ends.byId(id)).toEqual([{ queue: ends.happyQueue, envelope: expect.objectContaining({ payload: { patient: true } }) }]);
      });

      test('the runtime dies after the sidecar started: the message is held, not lost, and done after a restart', async () => {
        const a = await actor('crashy', 'echo');
        await a.runtime.stop();
        const id = await send([a.name], { survive: 1 });
        // The sidecar took the message and found the runtime gone: it holds the message instead of failing it.
        await expect.poll(() => a.sidecar.router.runtimeReachable, { timeout: 30_000 }).toBe(false);
        expect(ends.byId(id)).toEqual([]);
        expect((await transport.queueDepth(queueName(a.name))).ready).toBe(0);
        await a.runtime.start();
        await ends.waitForIds([id]);
        expect(ends.byId(id)[0]!.queue).toBe(ends.happyQueue);
      });

      test('unicode and a large payload travel intact', async () => {
        const a = await actor('big', 'echo');
        const size = Math.min(options.maxBody ?? 10 * 1024 * 1024, 10 * 1024 * 1024) - 4096;
        const payload = { text: 'Hello 世界 🌍 שלום', blob: 'z'.repeat(size) };
        const id = await send([a.name], payload);
        await ends.waitForIds([id], 60_000);
        expect(ends.byId(id)[0]!.envelope.payload).toEqual(payload);
      });

      test('a handler that sleeps past the timeout: one timeout error, a restarted runtime, then the next message is fine', async () => {
        const a = await actor('slow', 'sleep', { sidecarEnv: { ASYA_RUNTIME_TIMEOUT: '1s' } });
        const firstPid = a.runtime.child?.pid;
        const slow = await send([a.name], { seconds: 30 });
        await ends.waitForIds([slow]);
        const quick = await send([a.name], { seconds: 0 });
        await ends.waitForIds([quick]);
        expect(ends.byId(slow)).toHaveLength(1);
        expect(ends.byId(slow)[0]!.queue).toBe(ends.errorQueue);
        expect(ends.byId(slow)[0]!.envelope.payload).toMatchObject({ code: 'timeout', error: 'Runtime timeout exceeded after 1s' });
        expect(ends.byId(quick)).toEqual([{ queue: ends.happyQueue, envelope: expect.objectContaining({ payload: { slept: 0 } }) }]);
        expect(a.runtime.child?.pid).not.toBe(firstPid);
        // A second timeout error would have been published before the input was acked: once the actor's queue
        // and the end queues are empty, everything that was sent has been collected.
        await waitDrained(transport, [queueName(a.name), ends.errorQueue, ends.happyQueue], 30_000);
        expect(ends.byId(slow)).toHaveLength(1);
      });

      test('a passed deadline goes to error-end without calling the runtime', async () => {
        const a = await actor('deadline', 'echo');
        const id = await send([a.name], {}, { deadline: new Date(Date.now() - 1000).toISOString() });
        await ends.waitForIds([id]);
        expect(ends.byId(id)[0]!.envelope.payload.code).toBe('deadline_exceeded');
      });

      test('an unreadable deadline is ignored rather than failing the message', async () => {
        const a = await actor('baddeadline', 'echo');
        const id = await send([a.name], { ok: true }, { deadline: 'next tuesday' });
        await ends.waitForIds([id]);
        expect(ends.byId(id)).toEqual([{ queue: ends.happyQueue, envelope: expect.objectContaining({ payload: { ok: true } }) }]);
      });

      test('drain: the message in flight finishes, the unstarted ones stay queued', async () => {
        const gate = fixtureGate();
        gates.push(gate);
        const a = await actor('drain', 'gated');
        const first = await send([a.name], { ...gate.payload, n: 0 });
        await expect.poll(() => gate.started(), { timeout: 30_000 }).toBe(1);
        const rest = await Promise.all([1, 2, 3].map((n) => send([a.name], { ...gate.payload, n })));
        const stopping = a.sidecar.stop();
        gate.open();
        await stopping;
        await ends.waitForIds([first]);
        expect(gate.started()).toBe(1);
        expect(ends.byId(first)).toEqual([{ queue: ends.happyQueue, envelope: expect.objectContaining({ payload: { ...gate.payload, n: 0 } }) }]);
        for (const id of rest) expect(ends.byId(id)).toEqual([]);
        // The one the prefetch window held ahead goes back with the drain; the broker may count it a moment later.
        await expect.poll(async () => {
          const depth = await transport.queueDepth(queueName(a.name));
          return depth.ready + depth.inFlight;
        }, { timeout: 10_000 }).toBe(3);
        // A new sidecar for the same actor picks the rest up.
        const again = await startActor(transport, a.name, { kind, fixture: 'gated', sidecarEnv: ends.sidecarEnv });
        actors.push(again);
        await ends.waitForIds(rest);
        for (const id of rest) expect(ends.byId(id)).toHaveLength(1);
      });
    });
  }
}
