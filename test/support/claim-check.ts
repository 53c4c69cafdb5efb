/**
 * Pipelines for the claim-check tests: real runtimes behind real `asya sidecar` processes (so each sidecar's
 * peak RSS is its own), a payload store, and what each sidecar's metrics say about the messages it moved.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { offloadPayload, resolvePayloadBytes, type PayloadStore } from '../../payload-store/index.ts';
import { payloadRefOf, queueName, type PayloadRef } from '../../protocol/index.ts';
import type { Transport } from '../../transport/transport.ts';
import { freePort } from './moto.ts';
import { REPO_ROOT, startRuntime, type RuntimeKind, type RuntimeProcess } from './runtime-process.ts';
import { spawnSidecar, type SidecarProcess } from './sidecar-process.ts';

export const CLAIM_CHECK_HANDLERS = join(REPO_ROOT, 'payload-store/testdata');

export interface Step {
  kind: RuntimeKind;
  /** A function of payload-store/testdata/claim_check.{py,ts}. */
  handler: string;
}

export interface RunningStep {
  name: string;
  runtime: RuntimeProcess;
  sidecar: SidecarProcess;
  metricsPort: number;
}

export async function startSteps(names: string[], steps: Step[], env: Record<string, string>): Promise<RunningStep[]> {
  return Promise.all(
    steps.map(async (step, i) => {
      const name = names[i]!;
      const handler = step.kind === 'python' ? `claim_check.${step.handler}` : `${join(CLAIM_CHECK_HANDLERS, 'claim_check.ts')}#${step.handler}`;
      const runtime = await startRuntime(step.kind, { handler, env: { PYTHONPATH: CLAIM_CHECK_HANDLERS } });
      const metricsPort = await freePort();
      const sidecar = spawnSidecar({
        ...env,
        ASYA_ACTOR_NAME: name,
        ASYA_SOCKET_DIR: runtime.dir,
        ASYA_RUNTIME_TIMEOUT: '60s',
        ASYA_METRICS_ENABLED: 'true',
        ASYA_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
        ASYA_LOG_LEVEL: 'INFO',
      });
      await Promise.race([
        sidecar.consuming,
        sidecar.exited.then((code) => {
          throw new Error(`sidecar ${name} exited with ${code}:\n${sidecar.output()}`);
        }),
      ]);
      return { name, runtime, sidecar, metricsPort };
    }),
  );
}

export async function stopSteps(steps: RunningStep[]): Promise<void> {
  await Promise.all(
    steps.map(async ({ sidecar, runtime }) => {
      if (sidecar.child.exitCode === null) sidecar.child.kill('SIGTERM');
      await sidecar.exited;
      await runtime.stop();
    }),
  );
}

/** A payload `{data, seen: []}` whose data is `bytes` of base64 text, and the sha256 of that text. */
export function largePayload(bytes: number, extra: Record<string, unknown> = {}): { json: Buffer; sha256: string } {
  const data = randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes);
  return { json: Buffer.from(JSON.stringify({ data, seen: [], ...extra })), sha256: createHash('sha256').update(data).digest('hex') };
}

/** Offloads the payload as the gateway would and publishes the envelope to the first actor. */
export async function sendByReference(transport: Transport, store: PayloadStore, id: string, actors: string[], json: Buffer): Promise<PayloadRef> {
  const { ref, payload } = await offloadPayload(store, id, json);
  await transport.publish(queueName(actors[0]!), Buffer.from(JSON.stringify({ id, route: { actors, current: 0 }, payload })));
  return ref;
}

export async function resolveFinal<T>(store: PayloadStore, payload: unknown): Promise<T> {
  const ref = payloadRefOf(payload);
  if (!ref) throw new Error(`expected a payload reference, got ${JSON.stringify(payload).slice(0, 300)}`);
  return JSON.parse((await resolvePayloadBytes(store, ref)).toString('utf8')) as T;
}

/** Per direction: how many envelopes the sidecar received or sent, and how many of them were at most 64 KiB. */
export async function envelopeSizes(step: RunningStep): Promise<Record<'received' | 'sent', { count: number; upTo64KiB: number }>> {
  const text = await (await fetch(`http://127.0.0.1:${step.metricsPort}/metrics`)).text();
  const read = (direction: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`asya_actor_envelope_size_bytes_${series}`) && l.includes(`direction="${direction}"`) && (series !== 'bucket' || l.includes('le="65536"')));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  return {
    received: { count: read('received', 'count'), upTo64KiB: read('received', 'bucket') },
    sent: { count: read('sent', 'count'), upTo64KiB: read('sent', 'bucket') },
  };
}

/** Peak and current resident memory of a process, from /proc (Linux), in bytes. */
export function memoryOf(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(/(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(field)) ?? '')?.[1] ?? Number.NaN) * 1024;
  return { peak: kib('VmHWM:'), now: kib('VmRSS:') };
}
