/** The sidecar's metrics record only where /metrics is served; the same series are registered either way. */
import { expect, test } from 'vitest';
import { loadSidecarConfig } from './config.ts';
import { createMetrics } from './metrics.ts';

function oneHop(enabled: boolean) {
  const config = loadSidecarConfig({ ASYA_ACTOR_NAME: 'probe', ASYA_SOCKET_DIR: '/tmp', ASYA_METRICS_ENABLED: String(enabled) });
  const metrics = createMetrics(config, 'rabbitmq');
  metrics.active(1);
  metrics.received(1024);
  metrics.runtimeDuration(3);
  metrics.sent('asya-next', 'routing', 1100, 2);
  metrics.processed('success', 7);
  metrics.active(-1);
  return metrics.registry;
}

test('with /metrics on, a hop is counted', async () => {
  const text = await oneHop(true).metrics();
  expect(text).toMatch(/^asya_actor_messages_received_total\{queue="asya-probe",transport="rabbitmq"\} 1$/m);
  expect(text).toMatch(/^asya_actor_messages_sent_total\{destination_queue="asya-next",message_type="routing"\} 1$/m);
});

test('with /metrics off, nothing is recorded, and the same series exist', async () => {
  const on = oneHop(true);
  const off = oneHop(false);
  expect(off.getMetricsAsArray().map((m) => m.name)).toEqual(on.getMetricsAsArray().filter((m) => !/^(process|nodejs)_/.test(m.name)).map((m) => m.name));
  expect(await off.metrics()).not.toMatch(/_total\{[^}]*\} [1-9]/);
});
