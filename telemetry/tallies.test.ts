import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TallyCounter, TallyGauge, TallyHistogram } from './tallies.ts';

const BUCKETS = [0.005, 0.01, 0.1, 1, 2.5];

/** The same metrics twice: prom-client's in one registry, tallies in the other. */
function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const reg = (r: Registry) => ({ registers: [r] });
  return {
    theirs,
    ours,
    counter: [
      new Counter({ name: 'x_sent_total', help: 'Sent "things"\nacross lines', labelNames: ['destination_queue', 'message_type'], ...reg(theirs) }),
      new TallyCounter({ name: 'x_sent_total', help: 'Sent "things"\nacross lines', labelNames: ['destination_queue', 'message_type'], ...reg(ours) }),
    ] as const,
    unlabelled: [new Counter({ name: 'x_plain_total', help: 'No labels', ...reg(theirs) }), new TallyCounter({ name: 'x_plain_total', help: 'No labels', labelNames: [], ...reg(ours) })] as const,
    untouched: [
      new Counter({ name: 'x_never_total', help: 'Never counted', labelNames: ['queue'], ...reg(theirs) }),
      new TallyCounter({ name: 'x_never_total', help: 'Never counted', labelNames: ['queue'], ...reg(ours) }),
    ] as const,
    gauge: [
      new Gauge({ name: 'x_active', help: 'Active', labelNames: ['queue'], ...reg(theirs) }),
      new TallyGauge({ name: 'x_active', help: 'Active', labelNames: ['queue'], ...reg(ours) }),
    ] as const,
    histogram: [
      new Histogram({ name: 'x_duration_seconds', help: 'Duration', labelNames: ['queue', 'transport'], buckets: BUCKETS, ...reg(theirs) }),
      new TallyHistogram({ name: 'x_duration_seconds', help: 'Duration', labelNames: ['queue', 'transport'], buckets: [...BUCKETS].reverse(), ...reg(ours) }),
    ] as const,
  };
}

describe('tallies', () => {
  it('expose what prom-client exposes for the same counts, as text and as JSON', async () => {
    const m = pair();
    const [hTheirs, hOurs] = m.histogram;
    // The zeroed label set shows before any observation, as prom-client's zero() does.
    hTheirs.zero({ queue: 'asya-a', transport: 'rabbitmq' });
    hOurs.labels({ queue: 'asya-a', transport: 'rabbitmq' });
    const [gTheirs, gOurs] = m.gauge;
    gTheirs.set({ queue: 'asya-a' }, 0);
    gOurs.labels({ queue: 'asya-a' }).set(0);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const queue = `asya-${'abc'[i % 3]}`;
      const kind = i % 5 === 0 ? 'error_end' : 'routing';
      m.counter[0].inc({ destination_queue: queue, message_type: kind });
      // Labels written out of labelNames' order come out in it all the same.
      m.counter[1].labels({ message_type: kind, destination_queue: queue }).inc();
      m.unlabelled[0].inc(2);
      m.unlabelled[1].labels({}).inc(2);
      gTheirs.inc({ queue }, i % 2 ? 1 : -1);
      gOurs.labels({ queue }).inc(i % 2 ? 1 : -1);
      // Exactly on a bound, between bounds, and past the last one.
      const value = [0.005, 1, 3, random() * 2][i % 4]!;
      hTheirs.observe({ queue, transport: 'rabbitmq' }, value);
      hOurs.labels({ queue, transport: 'rabbitmq' }).observe(value);
    }
    expect(await m.ours.metrics()).toBe(await m.theirs.metrics());
    expect(await m.ours.getMetricsAsJSON()).toEqual(await m.theirs.getMetricsAsJSON());
    expect((await m.ours.getSingleMetric('x_never_total')?.get())?.values).toEqual([]);
    expect(await m.ours.metrics()).toContain('x_duration_seconds_bucket{le="+Inf",queue="asya-a",transport="rabbitmq"} 667');
  });

  it('start again from nothing on reset, and refuse a count that is not a number', async () => {
    const m = pair();
    m.counter[1].labels({ destination_queue: 'asya-a', message_type: 'routing' }).inc(3);
    m.theirs.resetMetrics();
    m.ours.resetMetrics();
    expect(await m.ours.metrics()).toBe(await m.theirs.metrics());
    expect(() => m.histogram[1].labels({ queue: 'asya-a', transport: 'sqs' }).observe(Number.NaN)).toThrow(TypeError);
  });
});
