/** Metrics, health and readiness endpoints, and the Kubernetes runtime-restart handshake. */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import { LIVENESS_PROBE_SCRIPT, markerFileSupervisor } from '../sidecar/supervisor.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { capturingLogger } from './support/capture-logger.ts';
import { expectProcessMetrics } from './support/process-metrics.ts';
import { collectEnds, envelopeBody, startActor } from './support/pipeline.ts';

describe('metrics and probes', () => {
  const transport = new MemoryTransport();
  afterAll(() => transport.close());

  test('/metrics uses the original names with full queue names; /health and /ready answer', async () => {
    const ends = await collectEnds(transport, [queueName('next-one')]);
    const actor = await startActor(transport, `metrics-${randomUUID().slice(0, 6)}`, {
      kind: 'node',
      fixture: 'echo',
      sidecarEnv: { ASYA_METRICS_ENABLED: 'true', ASYA_METRICS_ADDR: '127.0.0.1:0' },
    });
    const base = `http://127.0.0.1:${actor.sidecar.metricsPort}`;
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) await transport.publish(queueName(actor.name), envelopeBody(id, [actor.name, 'next-one'], {}));
    await transport.publish(queueName(actor.name), envelopeBody(randomUUID(), ['other', actor.name], {}));
    await ends.waitFor((all) => all.some((a) => a.envelope.payload?.failed_actor === actor.name));

    const metrics = await (await fetch(`${base}/metrics`)).text();
    const q = queueName(actor.name);
    expect(metrics).toContain(`asya_actor_messages_received_total{queue="${q}",transport="memory"} 3`);
    expect(metrics).toContain(`asya_actor_messages_processed_total{queue="${q}",status="success"} 2`);
    expect(metrics).toContain(`asya_actor_messages_failed_total{queue="${q}",reason="route_mismatch"} 1`);
    expect(metrics).toContain('asya_actor_messages_sent_total{destination_queue="asya-error-end",message_type="error_end"} 1');
    expect(metrics).toMatch(/asya_actor_runtime_execution_duration_seconds_count\{queue="[^"]+"\} 2/);
    expect(metrics).toContain(`asya_actor_active_messages{queue="${q}"} 0`);
    expectProcessMetrics(metrics);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);

    // With the runtime gone a message is held, and the sidecar says it is not ready.
    await actor.runtime.stop();
    await transport.publish(queueName(actor.name), envelopeBody(randomUUID(), [actor.name], {}));
    await expect.poll(async () => (await fetch(`${base}/ready`)).status).toBe(503);
    await actor.runtime.start();
    await expect.poll(async () => (await fetch(`${base}/ready`)).status, { timeout: 10_000 }).toBe(200);
    await actor.stop();
    await ends.stop();
  });
});

describe('runtime restart through the liveness probe (Kubernetes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'asya-probe-'));
  const socketPath = join(dir, 'asya-runtime.sock');
  const readyFile = join(dir, 'runtime-ready');
  const restartMarker = join(dir, 'runtime-restart-requested');
  const server = createServer((s) => s.destroy());
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const probe = () => {
    try {
      execFileSync('sh', ['-c', LIVENESS_PROBE_SCRIPT(dir)]);
      return 'pass';
    } catch {
      return 'fail';
    }
  };

  test('the marker fails the probe until a new runtime writes a fresh ready file', async () => {
    await new Promise<void>((r) => server.listen(socketPath, r));
    writeFileSync(readyFile, 'ready');
    expect(probe()).toBe('pass');
    // File times come from a coarse kernel clock: a marker written in the same tick as the ready file would
    // carry the same time, and the probe reads that as fresh. A hung runtime's ready file is far older.
    await new Promise((r) => setTimeout(r, 30));
    const log = capturingLogger();
    const supervisor = markerFileSupervisor({ socketPath, readyFile, restartMarker }, 10_000, log);
    let freshReadyFile = false;
    // Whether the fresh ready file existed when restart() returned: it must not return before.
    const restart = supervisor.restart('handler hung').then(() => freshReadyFile);
    await expect.poll(probe).toBe('fail');
    await expect.poll(() => log.matching('warn', 'Requested a runtime restart').length).toBe(1);
    // What kubelet does after the failed probe: a new runtime container starts and writes its ready file.
    await new Promise((r) => setTimeout(r, 30)); // a container takes far longer than a clock tick to start
    freshReadyFile = true;
    writeFileSync(readyFile, 'ready');
    expect(await restart).toBe(true);
    expect(probe()).toBe('pass');
  });
});
