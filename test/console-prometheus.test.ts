/**
 * The console's actors in a cluster: a gateway with ASYA_GATEWAY_PROMETHEUS_URL reads the sidecars' metrics
 * from a real Prometheus (a private one, scraping two real sidecars with Python runtimes on RabbitMQ), and
 * GET /console/api/actors answers what they did: processed, errors, in flight, p50/p95, and queue depth from
 * the gateway's own transport.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError } from '../gateway/http/errors.ts';
import { prometheusActors } from '../gateway/console/prometheus-actors.ts';
import type { ActorStats } from '../gateway/console/sources.ts';
import { queueName } from '../protocol/index.ts';
import { TRANSPORT_PLUGINS } from '../transport/registry.ts';
import type { Transport } from '../transport/transport.ts';
import { startTestGateway, testSchema, type TestGateway } from './support/gateway-harness.ts';
import { freePort } from './support/moto.ts';
import { collectEnds, envelopeBody, startActor, type Actor } from './support/pipeline.ts';
import type { TestSchema } from './support/postgres.ts';
import { ensurePrometheus, startPrometheus, type TestPrometheus } from './support/prometheus.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';
import { deleteQueuesWithDeadLetters } from './support/queues.ts';

const TOKEN = 'console-prometheus-token';
const missing = ensurePrometheus();
const OK_MESSAGES = 5;
const BAD_MESSAGES = 3;

describe.skipIf(missing !== undefined)(`console actors from Prometheus${missing ? ` (${missing})` : ''}`, () => {
  const tag = randomUUID().slice(0, 6);
  const namespace = `console-test-${tag}`;
  let transport: Transport;
  let ends: Awaited<ReturnType<typeof collectEnds>>;
  let ok: Actor;
  let bad: Actor;
  let prometheus: TestPrometheus;
  let schema: TestSchema;
  let gw: TestGateway;

  const actors = async (): Promise<ActorStats[]> => {
    const res = await fetch(`${gw.url}/console/api/actors`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { available: boolean; note: string; actors: ActorStats[] };
    expect(body.available).toBe(true);
    expect(body.note).toContain(prometheus.url);
    return body.actors;
  };
  const row = async (name: string) => (await actors()).find((a) => a.name === name);

  beforeAll(async () => {
    transport = await TRANSPORT_PLUGINS.rabbitmq.connect(TRANSPORT_PLUGINS.rabbitmq.optionsFromEnv({ ASYA_RABBITMQ_URL: RABBITMQ_URL }));
    ends = await collectEnds(transport, [], true);
    const sidecarEnv = { ...ends.sidecarEnv, ASYA_METRICS_ENABLED: 'true', ASYA_METRICS_ADDR: '127.0.0.1:0' };
    [ok, bad] = await Promise.all([
      startActor(transport, `prom-ok-${tag}`, { kind: 'python', fixture: 'echo', sidecarEnv }),
      startActor(transport, `prom-bad-${tag}`, { kind: 'python', fixture: 'fail', sidecarEnv }),
    ]);
    prometheus = await startPrometheus([ok, bad].map((a) => ({ address: `127.0.0.1:${a.sidecar.metricsPort}`, labels: { namespace } })));
    schema = await testSchema('console_prom');
    gw = await startTestGateway({
      schema,
      transport,
      config: { apiToken: TOKEN, internalToken: 'console-prometheus-internal', prometheusUrl: prometheus.url, prometheusSelector: `namespace="${namespace}"` },
    });
  }, 180_000);

  afterAll(async () => {
    await gw?.stop();
    await schema?.drop();
    await prometheus?.stop();
    await Promise.all([ok?.stop(), bad?.stop()]);
    if (transport) await deleteQueuesWithDeadLetters(transport, [ok, bad].flatMap((a) => (a ? [queueName(a.name)] : [])));
    await ends?.stop();
    await transport?.close();
  }, 60_000);

  it('lists the scraped actors at zero before their first message', async () => {
    await prometheus.targetsUp();
    await expect.poll(async () => (await actors()).map((a) => a.name), { timeout: 30_000 }).toEqual([bad.name, ok.name].sort());
    expect(await row(ok.name)).toEqual({ name: ok.name, state: '1 pod', queued: 0, inFlight: 0, processed: 0, errors: 0 });
  }, 60_000);

  it('reports what the sidecars processed and failed, with p50 and p95', async () => {
    const okIds = Array.from({ length: OK_MESSAGES }, () => randomUUID());
    const badIds = Array.from({ length: BAD_MESSAGES }, () => randomUUID());
    for (const id of okIds) await transport.publish(queueName(ok.name), envelopeBody(id, [ok.name], { n: 1 }));
    for (const id of badIds) await transport.publish(queueName(bad.name), envelopeBody(id, [bad.name], { message: 'console test failure' }));
    await ends.waitForIds([...okIds, ...badIds], 60_000);

    await expect.poll(async () => (await row(ok.name))?.processed, { timeout: 30_000 }).toBe(OK_MESSAGES);
    await expect.poll(async () => (await row(bad.name))?.errors, { timeout: 30_000 }).toBe(BAD_MESSAGES);
    // The quantiles need two scrapes that saw the messages (a rate): they come a moment after the counters.
    await expect.poll(async () => (await row(ok.name))?.p95Ms, { timeout: 30_000 }).toBeGreaterThan(0);
    const okRow = (await row(ok.name))!;
    expect(okRow).toMatchObject({ state: '1 pod', queued: 0, inFlight: 0, processed: OK_MESSAGES, errors: 0 });
    expect(okRow.p50Ms).toBeGreaterThan(0);
    expect(okRow.p50Ms!).toBeLessThanOrEqual(okRow.p95Ms!);
    const badRow = (await row(bad.name))!;
    expect(badRow).toMatchObject({ errors: BAD_MESSAGES, inFlight: 0, queued: 0 });
    // What the page is computed from, read from Prometheus directly.
    const processed = await prometheus.query(`sum(asya_actor_messages_processed_total{queue="${queueName(ok.name)}"})`);
    expect(Number(processed[0]!.value[1])).toBe(OK_MESSAGES);
  }, 120_000);

  it('applies the selector, and names Prometheus when it cannot be read', async () => {
    const elsewhere = prometheusActors({ url: prometheus.url, selector: 'namespace="somewhere-else"', metricsNamespace: 'asya_actor' });
    expect(await elsewhere()).toEqual([]);
    const otherPrefix = prometheusActors({ url: prometheus.url, selector: `namespace="${namespace}"`, metricsNamespace: 'other_actor' });
    expect(await otherPrefix()).toEqual([]);
    const badSelector = prometheusActors({ url: prometheus.url, selector: 'namespace=', metricsNamespace: 'asya_actor' });
    await expect(badSelector()).rejects.toThrow(/Prometheus at .* could not be read .*HTTP 400/);
    const port = await freePort();
    const away = prometheusActors({ url: `http://127.0.0.1:${port}`, metricsNamespace: 'asya_actor' });
    const failure = await away().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(HttpError);
    expect((failure as HttpError).status).toBe(502);
    expect((failure as HttpError).message).toContain(`Prometheus at http://127.0.0.1:${port} could not be read (ASYA_GATEWAY_PROMETHEUS_URL)`);
  }, 60_000);
});
