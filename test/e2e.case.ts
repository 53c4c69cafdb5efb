/**
 * End to end, once per transport (test/e2e-<transport>.test.ts): tool calls through the real gateway
 * (REST, SSE and the MCP SDK client), real actors, the real crew, the dead-letter queue and `asya dlq
 * replay`, and a sidecar killed with SIGKILL under load. What a client sees at the gateway is the proof.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dlqCommand } from '../cli/dlq.ts';
import { queueName, type DeadLetterRecord } from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';
import { isFinalStatus, startE2eWorld, updates, type E2eWorld, type EnvelopeJson, type RetryShape } from './e2e-world.ts';
import { DLQ_IDLE_MS } from './support/queues.ts';
import { scheduledPauses } from './support/retries.ts';
import { fixtureHandler, startRuntime, type RuntimeProcess } from './support/runtime-process.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';

export interface E2eSuiteOptions {
  makeTransport: () => Promise<Transport>;
  /** Where the crew stores envelopes: ASYA_RESULTS_DIR or the S3 variables. */
  storageEnv: () => Record<string, string>;
  /** The transport variables of an `asya sidecar` process on the same broker. */
  brokerEnv: () => Record<string, string>;
  /** Backoff of every actor; SQS delays are whole seconds, so its steps must be wider. */
  retry: RetryShape;
  schemaPrefix: string;
  /** How many concurrent tool calls the crash case makes. */
  crashCalls: number;
}

const textOf = (result: unknown) => JSON.parse((result as { content: Array<{ text: string }> }).content[0]!.text) as Record<string, unknown>;

export function e2eSuite(label: string, options: E2eSuiteOptions): void {
  describe(`end to end through the gateway on ${label}`, () => {
    let world: E2eWorld;
    let work: string;
    let storageEnv: Record<string, string>;

    const deadLetters = async () => {
      let text = '';
      expect(await dlqCommand(['list', '--json', '--queue', world.dlqQueue], { transport: world.transport, out: (t) => (text += t), idleMs: DLQ_IDLE_MS })).toBe(0);
      return JSON.parse(text) as DeadLetterRecord[];
    };
    const storedKeys = async (prefix: string, id: string) =>
      (await world.storage.list(prefix)).filter((k) => !k.includes('/ids/') && k.endsWith(`/${id}.json`));

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'asya-e2e-'));
      storageEnv = options.storageEnv();
      world = await startE2eWorld({ transport: await options.makeTransport(), schemaPrefix: options.schemaPrefix, storageEnv, retry: options.retry });
      const n = world.names;
      await Promise.all([
        world.actor(n.one, 'echo'),
        world.actor(n.two, 'echo'),
        world.actor(n.three, 'echo'),
        world.actor(n.flaky, 'flaky'),
        world.actor(n.fan, 'fanout'),
        // A runtime call longer than this is a timeout: error-end, a restarted runtime, retries per policy.
        world.actor(n.slow, 'sleep', { ASYA_RUNTIME_TIMEOUT: '1s' }),
      ]);
    }, 90_000);

    afterAll(async () => {
      const transport = world?.transport;
      await world?.stop();
      await transport?.close();
      rmSync(work, { recursive: true, force: true });
    }, 60_000);

    test('a 3-actor pipeline succeeds: MCP with progress, GET, SSE and the stored object agree', async () => {
      const n = world.names;
      const client = await world.mcp();
      const progress: number[] = [];
      const messages: string[] = [];
      const viaRest = await world.call('pipeline', { text: 'over rest' });
      const result = await client.callTool({ name: 'pipeline', arguments: { text: 'hello' } }, CallToolResultSchema, {
        onprogress: (p) => {
          progress.push(p.progress);
          if (p.message) messages.push(p.message);
        },
      });
      const answer = textOf(result);
      expect(result.isError).toBeFalsy();
      expect(answer).toMatchObject({ status: 'succeeded', result: { text: 'hello' } });
      expect(result.structuredContent).toMatchObject({ status: 'succeeded', result: { text: 'hello' } });
      // Notifications arrived, only ever growing, ending at 100 with the success.
      expect(progress.length).toBeGreaterThan(1);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(new Set(progress).size).toBe(progress.length);
      expect(progress.at(-1)).toBe(100);
      expect(messages.length).toBeGreaterThan(0);
      const id = answer.envelope_id as string;

      for (const [envelopeId, text] of [[id, 'hello'], [viaRest, 'over rest']] as const) {
        const envelope = await world.finalOf(envelopeId);
        expect(envelope).toMatchObject({ id: envelopeId, status: 'succeeded', progress_percent: 100, result: { text }, actors_completed: 3, total_actors: 3 });
        const sse = await world.stream(envelopeId);
        expect(sse.status).toBe(200);
        expect(sse.closedByServer).toBe(true);
        const seen = updates(sse);
        expect(seen.at(-1)).toMatchObject({ status: 'succeeded', result: { text }, progress_percent: 100 });
        expect(seen.filter((u) => isFinalStatus(u.status))).toHaveLength(1);
        // The actors' reports come in route order; the last actor's may be overtaken by happy-end's final
        // (each sidecar reports from its own background queue) and is then ignored, as documented.
        const route = [n.one, n.two, n.three];
        const steps = seen.map((u) => route.indexOf((u as { actor?: string }).actor ?? '')).filter((i) => i >= 0);
        expect(steps[0]).toBe(0);
        expect(steps).toEqual([...steps].sort((a, b) => a - b));
        // happy-end stored the whole envelope under <prefix><timestamp>/<last actor>/<id>.json.
        const keys = await storedKeys('happy-asya/', envelopeId);
        expect(keys).toEqual([expect.stringMatching(new RegExp(`^happy-asya/\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z/${n.three}/${envelopeId}\\.json$`))]);
        expect(JSON.parse((await world.storage.get(keys[0]!))!)).toMatchObject({ id: envelopeId, route: { actors: [n.one, n.two, n.three], current: 3 }, payload: { text } });
        if (storageEnv.ASYA_S3_BUCKET) expect(envelope.message).toBe(`Envelope completed successfully, results stored at ${world.storage.uri(keys[0]!)}`);
      }
    });

    test('a handler that fails once is retried by error-end and succeeds; the history shows "retry 1/3"', async () => {
      const counter = join(work, `${randomUUID()}.log`);
      const id = await world.call('flaky', { counter, failures: 1 });
      const envelope = await world.finalOf(id);
      expect(envelope).toMatchObject({ status: 'succeeded', result: { counter, failures: 1, attempts: 2 } });
      const history = updates(await world.stream(id));
      expect(history.filter((u) => u.message?.startsWith('retry ')).map((u) => u.message)).toEqual([expect.stringMatching(/^retry 1\/3 in \d+\.\d s$/)]);
      expect(history.filter((u) => isFinalStatus(u.status)).map((u) => u.status)).toEqual(['succeeded']);
      expect(await storedKeys('error-asya/', id)).toEqual([]);
    });

    test('always failing: 3 attempts with growing pauses, a DLQ record and failed; fixed and replayed, it ends succeeded', async () => {
      const n = world.names;
      const counter = join(work, `${randomUUID()}.log`);
      const fixed = join(work, `${randomUUID()}.fixed`);
      const id = await world.call('flaky', { counter, failures: 99, fixed });
      const failed = await world.finalOf(id);
      expect(failed).toMatchObject({
        status: 'failed', error: 'processing_error', message: `Envelope failed at actor '${n.flaky}': processing_error`,
        result: { error: 'processing_error', details: { type: 'ValueError', message: 'flaky failure on attempt 3' }, failed_actor: n.flaky },
      });
      const events = await world.events(id);
      // error-end records each failure at the gateway with the pause it scheduled, which grows per the
      // policy: "retry 1/3 in <backoff 1>", "retry 2/3 in <backoff 2>", then the final failure.
      const scheduled = scheduledPauses(world.sidecarEnv, 2);
      const failures = events.filter((e) => e.message?.startsWith('retry ') || e.status === 'failed');
      expect(failures.map((e) => e.message)).toEqual([...scheduled.map((p) => p.message), `Envelope failed at actor '${n.flaky}': processing_error`]);
      expect(scheduled[1]!.ms).toBeGreaterThan(scheduled[0]!.ms);
      // The handler's own clock: 3 attempts, each retry no earlier than the pause scheduled before it.
      const attempts = readFileSync(counter, 'utf8').trim().split('\n').map(Number);
      expect(attempts).toHaveLength(3);
      expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(scheduled[0]!.ms);
      expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(scheduled[1]!.ms);
      await expect.poll(async () => (await deadLetters()).filter((r) => r.id === id).length, { timeout: 30_000 }).toBe(1);
      const record = (await deadLetters()).find((r) => r.id === id)!;
      expect(record).toMatchObject({ failed_actor: n.flaky, code: 'processing_error', attempts: 3, envelope: { id, payload: { counter, failures: 99, fixed } } });
      expect(await storedKeys('error-asya/', id)).toHaveLength(1);

      // A gateway that cannot be asked: nothing is replayed, the record stays.
      let out = '';
      let err = '';
      const io = (env: Record<string, string>) => ({ transport: world.transport, env, out: (t: string) => (out += t), err: (t: string) => (err += t), idleMs: DLQ_IDLE_MS });
      expect(await dlqCommand(['replay', id, '--queue', world.dlqQueue], io({ ASYA_GATEWAY_URL: 'http://127.0.0.1:9', ASYA_GATEWAY_TOKEN: 'x' }))).toBe(1);
      expect(err).toContain(`could not replay ${id} (left in ${world.dlqQueue}): the gateway at http://127.0.0.1:9 is unreachable`);
      expect((await deadLetters()).filter((r) => r.id === id)).toHaveLength(1);
      expect((await world.get(`/envelopes/${id}`)).body.status).toBe('failed');

      writeFileSync(fixed, 'fixed');
      out = '';
      err = '';
      expect(await dlqCommand(['replay', id, '--queue', world.dlqQueue], io(world.gatewayEnv))).toBe(0);
      expect(out).toContain(`replayed ${id} → ${queueName(n.flaky)} (reopened at the gateway)`);
      expect(err).toBe('');
      const replayed = await world.finalOf(id, 30_000);
      expect(replayed).toMatchObject({ status: 'succeeded', progress_percent: 100, result: { attempts: 4, fixed } });
      expect((await deadLetters()).filter((r) => r.id === id)).toEqual([]);
      const sse = await world.stream(id);
      expect(sse.closedByServer).toBe(true);
      const history = updates(sse);
      expect(history.filter((u) => isFinalStatus(u.status) || u.envelope_state === 'replayed').map((u) => u.status)).toEqual(['failed', 'running', 'succeeded']);
      expect(history.find((u) => u.envelope_state === 'replayed')?.message).toBe(`Envelope replayed: asya dlq replay from ${world.dlqQueue}`);

      // The same record replayed once more: the gateway refuses (already succeeded); the replay goes ahead
      // with a warning, and what the gateway shows does not change.
      await world.transport.publish(world.dlqQueue, Buffer.from(JSON.stringify(record)));
      out = '';
      err = '';
      await expect.poll(async () => (await deadLetters()).filter((r) => r.id === id).length, { timeout: 30_000 }).toBe(1);
      expect(await dlqCommand(['replay', id, '--queue', world.dlqQueue], io(world.gatewayEnv))).toBe(0);
      expect(err).toContain(`warning: the gateway did not reopen ${id} (Envelope cannot be replayed: envelope is succeeded, not failed)`);
      expect(out).toContain(`replayed ${id} → ${queueName(n.flaky)}\n`);
      await world.drained([queueName(n.flaky), queueName(world.happy.name)]);
      await expect.poll(() => readFileSync(counter, 'utf8').trim().split('\n').length, { timeout: 30_000 }).toBe(5);
      expect((await world.get(`/envelopes/${id}`)).body).toMatchObject({ status: 'succeeded', result: { attempts: 4 } });
      expect((await world.events(id)).filter((e) => isFinalStatus(e.status)).map((e) => e.status)).toEqual(['failed', 'succeeded']);
    });

    test('a runtime timeout goes to error-end, is retried per policy with a restarted runtime, then fails', async () => {
      const n = world.names;
      const id = await world.call('slow', { seconds: 3 });
      const envelope = await world.finalOf(id);
      expect(envelope).toMatchObject({
        status: 'failed', error: 'Runtime timeout exceeded after 1s', message: `Envelope failed at actor '${n.slow}': Runtime timeout exceeded after 1s`,
      });
      const events = await world.events(id);
      expect(events.filter((e) => e.message?.startsWith('retry ')).map((e) => e.message)).toEqual([
        expect.stringMatching(/^retry 1\/3 /), expect.stringMatching(/^retry 2\/3 /),
      ]);
      // One report per attempt: the sidecar's received and processing leave as one processing (coalesced).
      expect(events.filter((e) => e.envelopeState === 'processing' && e.message === `Processing in ${n.slow}`)).toHaveLength(3);
      expect(events.filter((e) => isFinalStatus(e.status))).toHaveLength(1);
      await expect.poll(async () => (await deadLetters()).filter((r) => r.id === id).map((r) => [r.code, r.attempts]), { timeout: 30_000 }).toEqual([['timeout', 3]]);
      // The actor goes on with the next message after its runtime was restarted.
      const next = await world.call('slow', { seconds: 0 });
      expect(await world.finalOf(next)).toMatchObject({ status: 'succeeded', result: { slept: 0 } });
    });

    test('a fan-out completes after all its children, with the results in order', async () => {
      const id = await world.call('fan', { count: 4 });
      const parent = await world.finalOf(id);
      expect(parent).toMatchObject({ status: 'succeeded', result: [0, 1, 2, 3].map((index) => ({ index, of: 4 })) });
      const children = (await world.get<{ envelopes: EnvelopeJson[] }>(`/envelopes?parent_id=${id}`)).body.envelopes;
      expect(children.map((c) => [c.id, c.status, c.fanout_index]).sort()).toEqual([0, 1, 2, 3].map((i) => [`${id}-${i}`, 'succeeded', i]));
      const parentFinal = (await world.events(id)).find((e) => isFinalStatus(e.status))!;
      for (const child of children) {
        const childFinal = (await world.events(child.id)).find((e) => isFinalStatus(e.status))!;
        expect(childFinal.seq).toBeLessThan(parentFinal.seq);
        expect(await storedKeys('happy-asya/', child.id)).toHaveLength(1);
      }
    });

    test('a nested fan-out settles upward: each parent after its own children, results in order', async () => {
      const id = await world.call('nested', { count: 2 });
      const root = await world.finalOf(id);
      const leaves = [0, 1, 2].map((index) => ({ index, of: 3 }));
      expect(root).toMatchObject({ status: 'succeeded', result: [leaves, leaves] });
      const rootFinal = (await world.events(id)).find((e) => isFinalStatus(e.status))!;
      for (const i of [0, 1]) {
        const child = `${id}-${i}`;
        expect((await world.get(`/envelopes/${child}`)).body).toMatchObject({ status: 'succeeded', fanout_index: i, result: leaves });
        const childFinal = (await world.events(child)).find((e) => isFinalStatus(e.status))!;
        expect(childFinal.seq).toBeLessThan(rootFinal.seq);
        const grandchildren = (await world.get<{ envelopes: EnvelopeJson[] }>(`/envelopes?parent_id=${child}`)).body.envelopes;
        expect(grandchildren.map((g) => [g.id, g.status]).sort()).toEqual([0, 1, 2].map((j) => [`${child}-${j}`, 'succeeded']));
        for (const g of grandchildren) {
          const final = (await world.events(g.id)).find((e) => isFinalStatus(e.status))!;
          expect(final.seq).toBeLessThan(childFinal.seq);
        }
      }
    });

    test(`${options.crashCalls} concurrent tool calls, one of two sidecars killed with SIGKILL: exactly one final state each`, async () => {
      const count = options.crashCalls;
      const actor = world.names.crash;
      const env = { ...world.sidecarEnv, ASYA_CONCURRENCY: '4' };
      let runtimeB: RuntimeProcess | undefined;
      let sidecarB: SidecarProcess | undefined;
      try {
        await world.actor(actor, 'flaky', env);
        // Replica B is slow, so when it is killed its four slots are certainly busy with started work.
        runtimeB = await startRuntime('node', { handler: fixtureHandler('node', 'flaky'), env: { FLAKY_EXTRA_SECONDS: '0.5', FLAKY_TAG: 'B' } });
        sidecarB = spawnSidecar({ ...options.brokerEnv(), ...env, ASYA_ACTOR_NAME: actor, ASYA_SOCKET_DIR: runtimeB.dir });
        await sidecarB.consuming;
        const reportsBefore = await finalReports(world);

        const expected = new Map<string, 'succeeded' | 'failed'>();
        const counters = new Map<string, string>();
        // Every tenth always fails, every tenth (offset 1) fails once, the rest succeed at once.
        const plan = Array.from({ length: count }, (_, i) => ({
          failures: i % 10 === 0 ? 99 : i % 10 === 1 ? 1 : 0,
          counter: join(work, `crash-${i}-${randomUUID()}.log`),
        }));
        const calling = Promise.all(
          plan.map(async ({ failures, counter }) => {
            const id = await world.call('crash', { counter, failures, seconds: 0.03 });
            expected.set(id, failures === 99 ? 'failed' : 'succeeded');
            counters.set(id, counter);
          }),
        );
        // Killed while the actor is busy: a quarter of the envelopes have started, the rest are on their way,
        // and replica B is in the middle of an attempt (one it began under 0.3 s ago, of its 0.53 s), so that
        // attempt is cut off and must run again. Without the last condition B may hold nothing when killed.
        const started = () => plan.filter((p) => existsSync(p.counter)).length;
        const bMidAttempt = () => {
          const recent = Date.now() - 300;
          return plan.some((p) => existsSync(p.counter) && readFileSync(p.counter, 'utf8').split('\n').some((line) => line.endsWith(' B') && Number(line.split(' ')[0]) > recent));
        };
        await expect.poll(() => started() >= count / 4 && bMidAttempt(), { timeout: 60_000, interval: 50 }).toBe(true);
        sidecarB.child.kill('SIGKILL');
        expect(started()).toBeLessThan(count);
        expect(await sidecarB.exited).toBeNull();
        await calling;

        const finished = async () => (await world.gw.store.list({ toolName: 'crash', status: ['succeeded', 'failed'], limit: 500 })).items.length;
        await expect.poll(finished, { timeout: 90_000, interval: 250 }).toBe(count);
        // Redelivered work finishes too (its duplicates must not be reported), then everything is counted.
        await world.drained([queueName(actor), queueName(world.happy.name), queueName(world.error.name)], 90_000);

        // Through the API, page by page: every call is there once, final, with the expected outcome.
        const seen: EnvelopeJson[] = [];
        let cursor: string | undefined;
        do {
          const page = (await world.get<{ envelopes: EnvelopeJson[]; next_cursor?: string }>(`/envelopes?tool=crash&limit=37${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).body;
          seen.push(...page.envelopes);
          cursor = page.next_cursor;
        } while (cursor);
        expect(seen.map((e) => e.id).sort()).toEqual([...expected.keys()].sort());
        expect(seen.filter((e) => e.status !== expected.get(e.id)).map((e) => [e.id, e.status])).toEqual([]);
        expect(seen.filter((e) => e.status === 'succeeded')).toHaveLength(count - count / 10);
        // No envelope has two final events, and the gateway applied exactly one final report per envelope.
        const finalEvents = await Promise.all([...expected.keys()].map(async (id) => (await world.events(id)).filter((e) => isFinalStatus(e.status)).length));
        expect(finalEvents.filter((k) => k !== 1)).toEqual([]);
        const reports = await finalReports(world);
        expect(reports.applied - reportsBefore.applied).toBe(count);
        // A report may arrive twice (at-least-once: a crew POST retried after its answer was lost under
        // load, see test/crew-duplicate-report.test.ts); each duplicate is ignored. How many there are depends
        // on the machine's load, so only their accounting is asserted, not their number.
        const duplicates = reports.ignored - reportsBefore.ignored;
        expect(reports.posts - reportsBefore.posts).toBe(count + duplicates);
        // The kill made work happen twice: more attempts than the fewest possible (1, 2 or 3 each).
        const attempts = [...counters.values()].map((file) => readFileSync(file, 'utf8').trim().split('\n').length);
        expect(attempts.reduce((a, b) => a + b, 0)).toBeGreaterThan(count * 0.8 + count * 0.1 * 2 + count * 0.1 * 3);
      } finally {
        sidecarB?.child.kill('SIGKILL');
        await runtimeB?.stop();
      }
    }, 300_000); // above the sum of its own waits (60 + 90 + 90 s), so a slow run fails at the wait that names what is missing
  });
}

/**
 * Final reports at the gateway: POSTs answered 200, and how many of them applied a final state or were
 * ignored as duplicates (the envelope was already final).
 */
async function finalReports(world: E2eWorld): Promise<{ posts: number; applied: number; ignored: number }> {
  const lines = (await (await fetch(`${world.gw.url}/metrics`)).text()).split('\n');
  const value = (name: string, ...labels: string[]) => {
    const line = lines.find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  return {
    posts: value('asya_gateway_http_requests_total', 'route="/envelopes/:id/final"', 'method="POST"', 'status="200"'),
    applied: value('asya_gateway_final_reports_total', 'outcome="applied"'),
    ignored: value('asya_gateway_final_reports_total', 'outcome="ignored"'),
  };
}
