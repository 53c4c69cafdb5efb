/**
 * The logger's two formats. JSON lines carry the active span's ids, read only through @opentelemetry/api:
 * the test registers a context manager of its own (what a tracing SDK does) and activates a span in it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { context, ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, jsonLine, LOG_SPAN } from './log.ts';
import { logFormatFromEnv } from './settings.ts';
import { envelopeLogFields, parseTraceparent } from './trace-context.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

/** The smallest context manager that propagates through async calls, as the SDK's AsyncLocalStorage one does. */
class TestContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

function capture(format: 'text' | 'json', level: 'DEBUG' | 'INFO' = 'DEBUG', actor?: string) {
  const lines: string[] = [];
  const log = createLogger(level, 'asya.sidecar', { format, write: (l) => lines.push(l), ...(actor ? { actor } : {}) });
  return { log, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('text format', () => {
  test('keeps its shape: time, level, name.actor, message, fields; the traceparent field is not shown', () => {
    const { log, lines } = capture('text', 'INFO', 'hello');
    log.info('Consuming', { queue: 'asya-hello', n: 2, traceparent: TRACEPARENT, gone: undefined });
    log.debug('hidden at INFO');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO asya\.sidecar\.hello: Consuming queue=asya-hello n=2$/);
  });
});

describe('json format', () => {
  test('one object per line: time, level, component, actor, message, then the fields', () => {
    const { log, json, lines } = capture('json', 'DEBUG', 'hello');
    log.debug(() => 'lazy');
    log.info('Consuming', { queue: 'asya-hello' });
    log.warn('careful');
    log.error('broken', { err: new Error('disk full'), big: 10n });
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    const [debug, info, warn, error] = json();
    expect(Object.keys(info!)).toEqual(['time', 'level', 'component', 'actor', 'message', 'queue']);
    expect(info).toMatchObject({ level: 'INFO', component: 'sidecar', actor: 'hello', message: 'Consuming', queue: 'asya-hello' });
    expect(new Date(info!.time as string).toISOString()).toBe(info!.time);
    expect([debug!.level, warn!.level, error!.level]).toEqual(['DEBUG', 'WARNING', 'ERROR']);
    expect(error).toMatchObject({ err: 'disk full', big: '10' });
    expect(info).not.toHaveProperty('trace_id');
  });

  test("a field named like one of the line's own keys is kept under field_<name>", () => {
    const { log, json } = capture('json');
    log.info('x', { message: 'theirs', level: 'theirs', time: 1 });
    expect(json()[0]).toMatchObject({ message: 'x', level: 'INFO', field_message: 'theirs', field_level: 'theirs', field_time: 1 });
  });

  test('a value JSON cannot hold still gives a line', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(JSON.parse(jsonLine('INFO', 'asya.gateway', 'cyclic', { cycle }))).toMatchObject({ message: 'cyclic', cycle: '[object Object]' });
  });

  test("an envelope's traceparent names the trace when no span is active", () => {
    const { log, json } = capture('json');
    log.info('about an envelope', envelopeLogFields({ id: 'e-1', headers: { traceparent: TRACEPARENT } }));
    log.info('bad traceparent', envelopeLogFields({ id: 'e-2', headers: { traceparent: '00-abc-def-01' } }));
    const [good, bad] = json();
    expect(good).toMatchObject({ envelope_id: 'e-1', trace_id: TRACE_ID });
    expect(good).not.toHaveProperty('span_id');
    expect(good).not.toHaveProperty('traceparent');
    expect(bad).toMatchObject({ envelope_id: 'e-2' });
    expect(bad).not.toHaveProperty('trace_id');
  });

  test("a span the caller passes gives both ids, in JSON only; it wins over the envelope's traceparent", () => {
    const { log, json } = capture('json');
    const span = { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16) };
    log.warn('in a hop', { ...envelopeLogFields({ id: 'e-3', headers: { traceparent: TRACEPARENT } }), [LOG_SPAN]: span });
    expect(json()[0]).toEqual(expect.objectContaining({ envelope_id: 'e-3', trace_id: span.traceId, span_id: span.spanId }));
    const text = capture('text');
    text.log.warn('in a hop', { [LOG_SPAN]: span, envelope_id: 'e-3' });
    expect(text.lines).toEqual([expect.stringMatching(/ WARNING asya\.sidecar: in a hop envelope_id=e-3$/)]);
  });

  describe('with a span active (a context manager registered through @opentelemetry/api)', () => {
    beforeAll(() => void context.setGlobalContextManager(new TestContextManager()));
    afterAll(() => context.disable());

    test('lines carry its trace_id and span_id, through awaits, and over an envelope traceparent', async () => {
      const { log, json } = capture('json');
      const span = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 });
      await context.with(trace.setSpan(context.active(), span), async () => {
        log.info('before an await');
        await new Promise((r) => setImmediate(r));
        log.info('after an await', envelopeLogFields({ id: 'e', headers: { traceparent: TRACEPARENT } }));
      });
      log.info('outside');
      const [before, after, outside] = json();
      expect(before).toMatchObject({ trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) });
      expect(after).toMatchObject({ trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), envelope_id: 'e' });
      expect(outside).not.toHaveProperty('trace_id');
    });

    test('an invalid span context gives no ids', () => {
      const { log, json } = capture('json');
      context.with(trace.setSpan(context.active(), trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 })), () => log.info('x'));
      expect(json()[0]).not.toHaveProperty('trace_id');
    });
  });
});

describe('trace context', () => {
  test('traceparent parsing follows W3C: version ff and all-zero ids are invalid, version 00 has four parts', () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID });
    expect(parseTraceparent(TRACEPARENT.toUpperCase())).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID });
    expect(parseTraceparent(`01-${TRACE_ID}-${SPAN_ID}-01-later`)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID });
    for (const bad of [`${TRACEPARENT}-x`, `ff-${TRACE_ID}-${SPAN_ID}-01`, `00-${'0'.repeat(32)}-${SPAN_ID}-01`, `00-${TRACE_ID}-${'0'.repeat(16)}-01`, 'x', 42, undefined]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('ASYA_LOG_FORMAT before the table is read', () => {
  test('text unless json; a value the table refuses reads as text here', () => {
    expect(logFormatFromEnv({})).toBe('text');
    expect(logFormatFromEnv({ ASYA_LOG_FORMAT: 'JSON' })).toBe('json');
    expect(logFormatFromEnv({ ASYA_LOG_FORMAT: 'xml' })).toBe('text');
  });
});

describe('process output', () => {
  test("Node's warnings and an uncaught error become JSON lines; the process still exits 1", () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(join(import.meta.dirname, 'log.ts'))});
      const { logProcessWarnings, logUncaughtErrors } = await import(${JSON.stringify(join(import.meta.dirname, 'process-log.ts'))});
      const log = createLogger('INFO', 'asya.gateway', { format: 'json' });
      logProcessWarnings(log);
      logUncaughtErrors(log);
      process.emitWarning('old thing', { code: 'DEP0999', type: 'DeprecationWarning' });
      setImmediate(() => Promise.reject(new Error('nobody caught me')));
      setTimeout(() => console.log('still alive'), 5000);
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'WARNING', component: 'gateway', message: 'DeprecationWarning: old thing', code: 'DEP0999' });
    expect(lines[1]).toMatchObject({ level: 'ERROR', component: 'gateway' });
    expect(lines[1]!.message).toMatch(/^unhandled rejection: Error: nobody caught me\n\s+at /);
  });
});
