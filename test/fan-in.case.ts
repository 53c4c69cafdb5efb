/**
 * Fan-in end to end, on one broker: the real gateway on PostgreSQL, `split` and `score` actors (Node runtime
 * processes behind sidecars), the real error-end, and fan-in actors of every policy. The combined envelopes
 * go to a `collect` queue this suite reads, so each one is counted where it arrives.
 *
 * The crash case runs the fan-in's sidecar as a process of its own (`asya sidecar`, end-actor mode, in front
 * of a runtime running crew/fan-in.ts) and kills it with SIGKILL while a fan-out of 10 is joining, then starts
 * a new one; `kills` times over. Each time exactly one combined envelope must arrive, with the results in order.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import type { Consumer, Transport } from '../transport/transport.ts';
import { startE2eWorld, type ActorNames, type E2eWorld } from './e2e-world.ts';
import { startTestCrew } from './support/pipeline.ts';
import { REPO_ROOT, startRuntime, type RuntimeProcess } from './support/runtime-process.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { waitUntil } from './support/gateway-harness.ts';
import { fixtureGate, type FixtureGate } from './support/gated-handler.ts';
import type { RunningCrew } from '../cli/crew.ts';
import { deleteQueuesWithDeadLetters } from './support/queues.ts';

const HANDLERS = join(REPO_ROOT, 'test/support/fan-in-handlers.ts');
const FAN_IN_HANDLER = `${join(REPO_ROOT, 'crew/fan-in.ts')}#handle`;

export interface FanInSuiteOptions {
  makeTransport(): Promise<Transport>;
  /** ASYA_TRANSPORT and the broker's variables, for the sidecar process. */
  brokerEnv(): Record<string, string>;
  storageEnv(): Record<string, string>;
  retry: { initialDelaySeconds: number; multiplier: number };
  schemaPrefix: string;
  /** How often the crash case kills the fan-in's sidecar. */
  kills: number;
}

const fanInNames = (n: ActorNames) => {
  const suffix = n.one.slice('e2e-one-'.length);
  return {
    split: `fi-split-${suffix}`,
    score: `fi-score-${suffix}`,
    collect: `fi-collect-${suffix}`,
    crashable: `fi-join-${suffix}`,
    failFast: `fi-failfast-${suffix}`,
    partial: `fi-partial-${suffix}`,
    timeout: `fi-timeout-${suffix}`,
    nested: `fi-nested-${suffix}`,
  };
};

function toolsYaml(n: ActorNames): string {
  const f = fanInNames(n);
  const route = (fanIn: string) => `[${f.split}, ${f.score}, ${fanIn}, ${f.collect}]`;
  const params = `{count: {type: integer, default: 10}, failing: {type: string, default: ''}, dropping: {type: string, default: ''}, gate_dir: {type: string, default: ''}}`;
  return `
defaults: {timeout: 300}
tools:
- {name: join, parameters: ${params}, route: ${route(f.crashable)}}
- {name: fail-fast, parameters: ${params}, route: ${route(f.failFast)}}
- {name: partial, parameters: ${params}, route: ${route(f.partial)}}
- {name: timeout, parameters: ${params}, route: ${route(f.timeout)}}
- {name: nested, parameters: ${params}, route: [${f.split}, ${f.split}, ${f.score}, ${f.nested}, ${f.nested}, ${f.collect}]}
`;
}

type Combined = { id: string; parent_id?: string; route: { actors: string[]; current: number }; payload: unknown };

export function fanInSuite(label: string, options: FanInSuiteOptions): void {
  describe(`fan-in on ${label}`, () => {
    let transport: Transport;
    let world: E2eWorld;
    let names: ReturnType<typeof fanInNames>;
    let collector: Consumer;
    let sql: ReturnType<typeof postgres>;
    const collected: Combined[] = [];
    const crews: RunningCrew[] = [];
    let runtime: RuntimeProcess | undefined;
    let sidecar: SidecarProcess | undefined;
    let fanInEnv: Record<string, string>;
    const gates: FixtureGate[] = [];

    const startFanInSidecar = async () => {
      sidecar = spawnSidecar({
        ...options.brokerEnv(),
        ...world.sidecarEnv,
        ASYA_ACTOR_NAME: names.crashable,
        ASYA_IS_END_ACTOR: 'true',
        ASYA_SOCKET_DIR: runtime!.dir,
        ASYA_CONCURRENCY: '4',
      });
      await sidecar.consuming;
    };

    beforeAll(async () => {
      transport = await options.makeTransport();
      world = await startE2eWorld({ transport, schemaPrefix: options.schemaPrefix, storageEnv: options.storageEnv(), retry: options.retry, tools: toolsYaml });
      names = fanInNames(world.names);
      // One attempt for a failing chunk: the suite is about the fan-in, not about retries.
      const noRetry = { ASYA_RETRY_POLICY: JSON.stringify({ maxAttempts: 1 }) };
      await world.actor(names.split, 'echo', { ASYA_CONCURRENCY: '4' }, { ASYA_HANDLER: `${HANDLERS}#split` });
      await world.actor(names.score, 'echo', { ASYA_CONCURRENCY: '8', ...noRetry }, { ASYA_HANDLER: `${HANDLERS}#score` });
      await transport.ensureQueue(queueName(names.collect), { maxDeliveries: 10 });
      collector = await transport.consume(queueName(names.collect), async (delivery) => {
        collected.push(JSON.parse(delivery.body.toString('utf8')) as Combined);
        await transport.ack(delivery);
      });
      fanInEnv = {
        ...process.env as Record<string, string>,
        ...world.sidecarEnv,
        ASYA_METRICS_ENABLED: 'false',
        ASYA_LOG_LEVEL: 'ERROR',
        ASYA_RUNTIME_READY_TIMEOUT: '60s',
      };
      const crew = (name: string, env: Record<string, string>) => startTestCrew('fan-in', { env: { ...fanInEnv, ASYA_ACTOR_NAME: name, ...env }, transport });
      crews.push(
        ...(await Promise.all([
          crew(names.failFast, { ASYA_FAN_IN_POLICY: 'fail-fast' }),
          crew(names.partial, { ASYA_FAN_IN_POLICY: 'partial' }),
          crew(names.timeout, { ASYA_FAN_IN_TIMEOUT: '2s' }),
          crew(names.nested, {}),
        ])),
      );
      runtime = await startRuntime('node', {
        handler: FAN_IN_HANDLER,
        env: { ...world.sidecarEnv, ASYA_HANDLER_MODE: 'envelope', ASYA_ENABLE_VALIDATION: 'false', ASYA_LOG_LEVEL: 'ERROR' },
        // The sidecar waits for the runtime's ready file itself (however loaded the machine is).
        waitReady: false,
      });
      await startFanInSidecar();
      sql = postgres(world.schema.url, { max: 1, onnotice: () => {} });
    }, 400_000);

    afterAll(async () => {
      for (const gate of gates) {
        gate.open();
        gate.dispose();
      }
      await collector?.stop();
      sidecar?.child.kill('SIGKILL');
      await runtime?.stop();
      await Promise.allSettled(crews.map((c) => c.stop()));
      const made = [names?.collect, ...crews.map((c) => c.name), names?.crashable].filter((n): n is string => Boolean(n));
      if (transport) await deleteQueuesWithDeadLetters(transport, made.map(queueName));
      await sql?.end();
      await world?.stop();
      await transport?.close();
    }, 120_000);

    const combinedOf = (id: string) => collected.filter((c) => c.id === id);
    const waitCombined = (id: string, timeoutMs = 60_000) => waitUntil(() => combinedOf(id).length > 0, timeoutMs, `combined envelope ${id}`);
    const chunkResults = (count: number) => Array.from({ length: count }, (_, index) => ({ index, score: index * 10 }));

    /**
     * Nothing more can come for this parent: its fan-in outbox entry is gone (published and confirmed), and a
     * marker sent to the collect queue after that has arrived, so everything confirmed before it has too.
     */
    const settledCount = async (id: string): Promise<number> => {
      await waitUntil(async () => {
        const fanIn = await sql`select outcome from ${sql(world.schema.name)}.fan_ins where parent_id = ${id}`;
        const pending = await sql`select 1 from ${sql(world.schema.name)}.fan_in_outbox where parent_id = ${id}`;
        return fanIn[0]?.outcome !== undefined && fanIn[0]?.outcome !== null && pending.length === 0;
      }, 30_000, `fan-in of ${id} concluded and its outbox empty`);
      const marker = `marker-${randomUUID()}`;
      await transport.publish(queueName(names.collect), Buffer.from(JSON.stringify({ id: marker, route: { actors: [names.collect], current: 0 }, payload: null })));
      await waitUntil(() => combinedOf(marker).length === 1, 30_000, 'marker');
      return combinedOf(id).length;
    };

    test(`a fan-out of 10 through fan-in, its sidecar killed with SIGKILL mid-way ${options.kills} times: exactly one combined envelope each time, results in order`, async () => {
      for (let run = 0; run < options.kills; run++) {
        const id = await world.call('join', { count: 10 });
        const children = Array.from({ length: 10 }, (_, i) => `${id}-${i}`);
        // Kill after a different number of children joined each time (0..9).
        const joinedBeforeKill = run % 10;
        await waitUntil(async () => {
          const states = await Promise.all(children.map((c) => world.gw.store.get(c)));
          return states.filter((s) => s?.status === 'succeeded').length >= joinedBeforeKill;
        }, 60_000, `${joinedBeforeKill} children joined`);
        sidecar!.child.kill('SIGKILL');
        await sidecar!.exited;
        await startFanInSidecar();
        await waitCombined(id);
        expect(await settledCount(id), `run ${run}: combined envelopes of ${id}`).toBe(1);
        const [combined] = combinedOf(id);
        expect(combined!.route.current).toBe(3);
        expect(combined!.payload).toEqual(chunkResults(10));
      }
      // About 2.5 s a kill on an idle machine (mostly starting the sidecar process); the bound is for a loaded one.
    }, 900_000);

    test('wait-all: a failing child keeps its place, marked, and the route goes on', async () => {
      const id = await world.call('join', { count: 10, failing: '4' });
      await waitCombined(id);
      const payload = combinedOf(id)[0]!.payload as unknown[];
      expect(payload).toHaveLength(10);
      expect(payload[4]).toEqual({ fan_in_error: { id: `${id}-4`, index: 4, error: expect.stringContaining('ValueError: chunk 4 is unreadable') } });
      expect(payload.filter((_, i) => i !== 4)).toEqual(chunkResults(10).filter((_, i) => i !== 4));
      expect(await settledCount(id)).toBe(1);
    }, 120_000);

    test('partial: the results that succeeded and the error list', async () => {
      const id = await world.call('partial', { count: 10, failing: '2,7' });
      await waitCombined(id);
      const payload = combinedOf(id)[0]!.payload as { results: unknown[]; errors: Array<{ id: string; index: number }> };
      expect(payload.results).toEqual(chunkResults(10).filter((r) => r.index !== 2 && r.index !== 7));
      expect(payload.errors.map((e) => [e.id, e.index])).toEqual([[`${id}-2`, 2], [`${id}-7`, 7]]);
    }, 120_000);

    test('fail-fast: a failing child fails the whole envelope and nothing goes on', async () => {
      const id = await world.call('fail-fast', { count: 10, failing: '5' });
      const final = await world.finalOf(id, 60_000);
      expect(final.status).toBe('failed');
      expect(final.error).toContain(`fan-in (fail-fast): child ${id}-5 failed`);
      await waitUntil(async () => {
        const states = await Promise.all(Array.from({ length: 10 }, (_, i) => world.gw.store.get(`${id}-${i}`)));
        return states.every((s) => s?.status === 'succeeded' || s?.status === 'failed');
      }, 60_000, 'every child final');
      expect(await settledCount(id)).toBe(0);
    }, 120_000);

    test('children that never arrive time out: they fail, and the fan-in goes on with the rest', async () => {
      const gate = fixtureGate();
      gates.push(gate);
      const id = await world.call('timeout', { count: 10, dropping: '1,8', gate_dir: gate.dir });
      await waitCombined(id, 60_000);
      const payload = combinedOf(id)[0]!.payload as unknown[];
      for (const i of [1, 8]) {
        expect(payload[i]).toEqual({ fan_in_error: { id: `${id}-${i}`, index: i, error: expect.stringMatching(/^did not reach fan-in fi-timeout-\w+ within 2000 ms$/) } });
      }
      expect((await world.gw.store.get(`${id}-1`))?.status).toBe('failed');
      // Now the stragglers go on and reach the fan-in: they change nothing.
      gate.open();
      await world.drained([queueName(names.score), queueName(names.timeout)], 90_000);
      expect((await world.gw.store.get(`${id}-8`))?.status).toBe('failed');
      expect(await settledCount(id)).toBe(1);
    }, 120_000);

    test('nested fan-outs fan in level by level', async () => {
      const id = await world.call('nested', { count: 3 });
      await waitCombined(id);
      const [combined] = combinedOf(id);
      expect(combined!.route.current).toBe(5);
      expect(combined!.payload).toEqual([0, 1, 2].map(() => chunkResults(3)));
      for (const i of [0, 1, 2]) expect(combinedOf(`${id}-${i}`)).toEqual([]);
    }, 120_000);
  });
}
