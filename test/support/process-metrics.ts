import { expect } from 'vitest';

/**
 * A component's /metrics text has Node's process metrics under their standard names, each with a value,
 * and none of them under the component's prefix (`asya_actor_`, `asya_gateway_`, `asya_controller_`).
 */
export function expectProcessMetrics(text: string): void {
  for (const name of ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    expect(text).toMatch(new RegExp(`^${name} \\d`, 'm'));
  }
  expect(text.match(/^asya_[a-z]+_(process|nodejs)_\w+/gm) ?? []).toEqual([]);
}
