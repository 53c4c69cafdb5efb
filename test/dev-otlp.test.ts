/** `asya dev --otlp <url>`: every component dev mode hosts exports its spans to the given collector. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ASYA_BIN } from './support/dev-process.ts';
import { startOtlpReceiver, SPAN_KIND, type OtlpReceiver } from './support/otlp-receiver.ts';
import { REPO_ROOT } from './support/runtime-process.ts';

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver?.close());

function run(args: string[]): Promise<{ status: number | null; output: string }> {
  const child = spawn(process.execPath, [ASYA_BIN, 'dev', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, output })));
}

test('asya dev examples/hello --demo --otlp: one trace per MCP call, each hop under the one before, the failure marked', async () => {
  const { status, output } = await run(['examples/hello', '--demo', '--otlp', receiver.url]);
  expect(status, output).toBe(0);
  expect(output).toContain(`exporting spans to ${receiver.url}`);
  // Dev mode flushes its spans before it exits.
  const calls = receiver.spans.filter((s) => s.name === 'tools/call analyze_text');
  expect(calls).toHaveLength(3);
  for (const call of calls) {
    expect(call).toMatchObject({ service: 'asya-dev', kind: SPAN_KIND.server, parentSpanId: '', attributes: { 'asya.via': 'mcp' } });
    const trace = receiver.spans.filter((s) => s.traceId === call.traceId);
    const hop = (queue: string) => trace.find((s) => s.name === `process asya-${queue}`);
    const normalize = hop('normalize')!;
    expect(normalize.parentSpanId).toBe(call.spanId);
    expect(normalize.attributes).toMatchObject({ 'messaging.system': 'asya_memory', 'asya.actor': 'normalize', 'asya.envelope.id': call.attributes['asya.envelope.id'] });
    const sentiment = hop('sentiment');
    if (normalize.statusCode === 2) {
      // The blank text: normalize failed, error-end took it, and nothing went on to sentiment.
      expect(normalize.attributes['error.type']).toBe('processing_error');
      expect(hop('error-end')!.parentSpanId).toBe(normalize.spanId);
      expect(sentiment).toBeUndefined();
    } else {
      expect(sentiment!.parentSpanId).toBe(normalize.spanId);
      expect(hop('report')!.parentSpanId).toBe(sentiment!.spanId);
      expect(hop('happy-end')!.parentSpanId).toBe(hop('report')!.spanId);
    }
  }
  expect(calls.filter((c) => receiver.spans.some((s) => s.traceId === c.traceId && s.statusCode === 2 && s.name === 'process asya-normalize'))).toHaveLength(1);
}, 240_000);

test('--otlp refuses what is not an http(s) URL', async () => {
  const { status, output } = await run(['examples/hello', '--demo', '--otlp', 'localhost:4318']);
  expect(status).toBe(2);
  expect(output).toContain('--otlp "localhost:4318": expected an http(s) URL such as http://otel-collector:4318 (an OTLP/HTTP collector)');
}, 60_000);
