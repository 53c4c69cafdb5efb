/**
 * The chaos suite: under a steady stream of tool calls, one fault per scenario — kill -9 of a sidecar, of a
 * runtime, of happy-end, of the broker, of the gateway between saving an envelope and publishing it, and a
 * long database outage. Every envelope the gateway accepted (or saved) must reach exactly one final state.
 * The table of what happened is printed at the end and written to test/chaos/last-run.md; docs/operations.md
 * quotes it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitUntil } from '../support/gateway-harness.ts';
import { steadyLoad, type Load } from './load.ts';
import { chaosTable, isFinal, mustFinish, storedEnvelopes, tally, unfinishedAccepted, type ScenarioRow } from './tally.ts';
import { startChaosWorld, type ChaosWorld } from './world.ts';
import { errorText } from '../../protocol/errors.ts';

function seconds(name: string, fallback: number): number {
  const value = Number(process.env[name] || fallback);
  if (!(value > 0)) throw new Error(`${name}="${process.env[name]}": expected a number of seconds > 0`);
  return value * 1000;
}
/** How long the database stays down in the outage scenario. */
const DB_OUTAGE_MS = seconds('ASYA_CHAOS_DB_OUTAGE_SECONDS', 60);
/** How long, after the stream stops, every envelope has to reach its final state before it counts as lost. */
const SETTLE_MS = seconds('ASYA_CHAOS_SETTLE_SECONDS', 120);
/** Four calls a second, 0.15 s each in the Python handler: it is busy 60% of the time when a fault strikes. */
const LOAD = { intervalMs: 250, handlerSeconds: 0.15 };
/** The handler time of the one envelope a fault must catch in progress. */
const SLOW_SECONDS = 3;
/** Finals to see before the fault (the pipeline works) and after the recovery (it works again). */
const MARKER_FINALS = 8;
const REPORT = join(import.meta.dirname, 'last-run.md');
/**
 * A scenario's waits chain to at most about 11 minutes: the first finals (1), the fault (a broker's kill and
 * restart up to 3, the database's outage 1 to 2), new finals after it (3), calls still in flight (2, their
 * client timeout), settling (2). The test's own limit is above that sum, so that a slow recovery on a busy
 * machine ends in the scenario's own error (with every service's output) or its verdict, never in a bare
 * timeout that says nothing about where the time went.
 */
const SCENARIO_TIMEOUT_MS = 900_000;

let world: ChaosWorld;
const rows: ScenarioRow[] = [];

beforeAll(async () => {
  world = await startChaosWorld();
}, 240_000);

afterAll(async () => {
  if (rows.length > 0) {
    const table = chaosTable(rows);
    writeFileSync(REPORT, `Chaos suite, ${new Date().toISOString()} (test/chaos/chaos.test.ts)\n\n${table}\n`);
    console.log(`\nchaos suite (also in ${REPORT}):\n${table}\n`);
  }
  await world?.stop();
}, 120_000);

async function finalCount(scenario: string): Promise<number> {
  try {
    return (await storedEnvelopes(world.sql, world.schema, scenario)).filter((e) => isFinal(e.status)).length;
  } catch {
    return 0; // the database is down
  }
}

interface FaultContext {
  load: Load;
  scenario: string;
  /** Call right before the fault: records how many accepted envelopes it catches unfinished. */
  atFault(): Promise<void>;
}

async function runScenario(scenario: string, fault: string, apply: (ctx: FaultContext) => Promise<void>): Promise<ScenarioRow> {
  const load = steadyLoad(world.gatewayUrl, scenario, LOAD);
  let inFlightAtFault = 0;
  const faultWindow = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY };
  const ctx: FaultContext = {
    load,
    scenario,
    async atFault() {
      inFlightAtFault = (await unfinishedAccepted(world.sql, world.schema, scenario, load.calls)) ?? 0;
      faultWindow.from = Date.now();
    },
  };
  // Each phase's end, seconds into the scenario: printed as it goes, so a run that is cut off shows how far it got.
  const started = Date.now();
  const phase = (what: string) => console.log(`${scenario}: ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  try {
    await waitUntil(async () => (await finalCount(scenario)) >= MARKER_FINALS, 60_000, `${scenario}: the first finals before the fault`);
    phase('first finals seen');
    await apply(ctx);
    faultWindow.to = Date.now();
    phase('fault applied and the part started again');
    const before = await finalCount(scenario);
    await waitUntil(async () => (await finalCount(scenario)) >= before + MARKER_FINALS, 180_000, `${scenario}: new finals after the recovery`);
    phase('new finals after the recovery');
  } catch (err) {
    throw new Error(`${errorText(err)}\n${world.outputs()}`);
  } finally {
    await load.stop();
    phase(`the stream stopped, every call answered or timed out`);
  }
  // Everything accepted or saved gets its chance to finish; what has not by the deadline is lost.
  await waitUntil(
    async () => {
      const stored = await storedEnvelopes(world.sql, world.schema, scenario);
      const status = new Map(stored.map((e) => [e.id, e.status]));
      return [...mustFinish(load.calls, stored)].every((id) => isFinal(status.get(id) ?? 'missing'));
    },
    SETTLE_MS,
    `${scenario}: every accepted envelope final`,
  ).catch(() => undefined);
  phase('settled');
  const row = await tally({ sql: world.sql, schema: world.schema, scenario, fault, calls: load.calls, sent: load.sent(), inFlightAtFault, faultWindow, resultsDir: world.resultsDir });
  rows.push(row);
  console.log(chaosTable([row]));
  const verdict = { lost: row.lost, duplicateFinals: row.duplicateFinals, lostDetail: row.lostDetail };
  if (row.lost > 0 || row.duplicateFinals > 0) console.log(world.outputs());
  expect(verdict).toEqual({ lost: 0, duplicateFinals: 0, lostDetail: [] });
  return row;
}

const python = () => world.actors[0]!;

/** How often an actor reported that it started the envelope's handler. */
async function handlerStarts(id: string, actor: string): Promise<number> {
  const [row] = await world.sql<Array<{ n: number }>>`
    select count(*)::int as n from ${world.sql(world.schema)}.envelope_updates where envelope_id = ${id} and actor = ${actor} and envelope_state = 'processing'`;
  return row?.n ?? 0;
}

/**
 * Sends one envelope whose Python handler takes SLOW_SECONDS and waits until the handler runs, so the
 * fault that follows certainly interrupts work in progress.
 */
async function slowEnvelopeInPython(load: Load): Promise<string> {
  const call = await load.send(SLOW_SECONDS);
  if (call.kind !== 'accepted') throw new Error(`the slow call was not accepted: ${call.detail}`);
  await waitUntil(async () => (await handlerStarts(call.id!, python().name)) > 0, 60_000, 'the slow envelope in the Python handler');
  return call.id!;
}

/** The interrupted envelope was started again after the fault and finished. */
async function expectRedone(id: string): Promise<void> {
  const [row] = await world.sql<Array<{ status: string }>>`select status from ${world.sql(world.schema)}.envelopes where id = ${id}`;
  expect(row?.status).toBe('succeeded');
  expect(await handlerStarts(id, python().name)).toBeGreaterThanOrEqual(2);
}

test.each([
  ['sidecar', "kill -9 of the Python actor's sidecar mid-message"],
  ['runtime', 'kill -9 of the Python runtime mid-request'],
] as const)('%s killed with SIGKILL while it runs a message, then restarted', async (part, fault) => {
  let slow = '';
  await runScenario(part, fault, async ({ load, atFault }) => {
    slow = await slowEnvelopeInPython(load);
    await atFault();
    await python()[part].kill();
    await python()[part].start();
  });
  await expectRedone(slow);
}, SCENARIO_TIMEOUT_MS);

test('happy-end killed with SIGKILL (with its runtime), then restarted', async () => {
  await runScenario('happy-end', 'kill -9 of happy-end (crew process and its runtime)', async ({ atFault }) => {
    await atFault();
    await world.happyEnd.kill();
    await world.happyEnd.start();
  });
}, SCENARIO_TIMEOUT_MS);

test('the broker killed with SIGKILL, then started on the same data', async () => {
  await runScenario('broker', 'kill -9 of RabbitMQ, restart on the same data', async ({ load, atFault }) => {
    await slowEnvelopeInPython(load);
    await atFault();
    await world.broker.kill();
    await world.broker.start();
  });
}, SCENARIO_TIMEOUT_MS);

test('the gateway killed with SIGKILL between saving envelopes and publishing them, then restarted', async () => {
  const row = await runScenario('gateway', 'kill -9 of the gateway with saved, unpublished envelopes', async ({ load, scenario, atFault }) => {
    // Frozen, the gateway's link to the broker holds its publishes: it saves each new envelope, then waits
    // for a confirmation that cannot come. Killed then, those envelopes were saved and never published.
    world.gatewayLink.freeze();
    const frozenAt = Date.now();
    try {
      await waitUntil(
        async () => {
          const saved = (await storedEnvelopes(world.sql, world.schema, scenario)).filter((e) => e.status === 'pending' && e.created_at.getTime() >= frozenAt - 1000);
          return saved.length >= 3 && load.pending() >= 3 && world.gatewayLink.heldBytes() > 0;
        },
        20_000,
        'envelopes saved whose publish is held',
      );
      await atFault();
      await world.gateway.kill();
    } finally {
      world.gatewayLink.thaw();
    }
    await world.gateway.start();
  });
  // Their callers heard nothing, yet the envelopes were saved: they too had to finish.
  expect(row.stored).toBeGreaterThan(row.accepted);
}, SCENARIO_TIMEOUT_MS);

test('the database down for a long outage, then started again', async () => {
  await runScenario('database', `PostgreSQL stopped for ${DB_OUTAGE_MS / 1000} s`, async ({ load, atFault }) => {
    // One envelope is in a handler when the database goes: its progress and its final must wait it out.
    await slowEnvelopeInPython(load);
    await atFault();
    const refusedBefore = load.calls.filter((c) => c.kind !== 'accepted').length;
    await world.db.stop();
    // The fault is the outage's length (the input under test, not a wait for an event); the stream goes on
    // meanwhile. The database comes back only after the gateway was seen refusing a call without it.
    await new Promise((r) => setTimeout(r, DB_OUTAGE_MS));
    await waitUntil(() => load.calls.filter((c) => c.kind !== 'accepted').length > refusedBefore, 60_000, 'a call refused while the database is down');
    await world.db.start();
  });
}, SCENARIO_TIMEOUT_MS);
