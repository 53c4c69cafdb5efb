/**
 * The same pipeline under `asya dev` (the memory transport): one process runs the embedded gateway (PGlite,
 * in the project's .asya/gateway as a user gets it), both actors' sidecars and happy-end; the two Node
 * runtimes are its children. The client is the same as for the deployed pipeline: `POST /tools/call`, then
 * the envelope's SSE stream until the final update. It runs as users run it, from bin/asya.js (the
 * package's `asya`), not the bundle the images run.
 *
 * What cannot be counted here is left out rather than guessed: PGlite keeps no row statistics, and the
 * memory transport's sidecars serve no metrics of their own, so only the gateway's HTTP requests and
 * broker publishes (its own /metrics) are reported.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchClient } from '../gateway/http-client.ts';
import { actorManifest } from '../../test/support/new-project.ts';
import { startDevProject, type BenchProcess } from '../processes.ts';
import { descendants } from '../../test/support/process-tree.ts';
import { scrape, sumByLabel, type Counts } from './counters.ts';
import { countersSince, type Pipeline, type PipelineCounters } from './pipeline.ts';

const TOOL = 'e2e';

export async function startDevPipeline(payloadBytes: number): Promise<Pipeline> {
  const dir = mkdtempSync(join(tmpdir(), 'asya-bench-e2e-dev-'));
  mkdirSync(join(dir, 'actors'));
  mkdirSync(join(dir, 'handlers'));
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
  writeFileSync(join(dir, 'handlers/echo.ts'), 'export function process(payload: unknown): unknown {\n  return payload;\n}\n');
  for (const name of ['a', 'b']) writeFileSync(join(dir, 'actors', `${name}.yaml`), actorManifest(name, 'handlers/echo.ts#process'));
  writeFileSync(join(dir, 'tools.yaml'), `tools:\n- name: ${TOOL}\n  parameters: {text: {type: string, required: true}}\n  route: [a, b]\n  timeout: 600\n`);

  let dev: (BenchProcess & { url: string }) | undefined;
  let client: BenchClient | undefined;
  const stop = async () => {
    client?.close();
    await dev?.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    dev = await startDevProject(dir);
    const { url, pid } = dev;
    const pids: Record<string, number> = { 'asya dev': pid };
    descendants(pid).forEach((pid, i) => (pids[`child ${i + 1}`] = pid));
    client = new BenchClient(url, 4096);
    const http = client;
    const json = { 'content-type': 'application/json' };
    const text = 'x'.repeat(payloadBytes);

    const readCounters = async (): Promise<PipelineCounters> => {
      const metrics = await scrape(`${url}/metrics`);
      const { '/metrics': _scrapes, ...httpRequests } = sumByLabel(metrics, 'asya_gateway_http_requests_total', 'route');
      const brokerMessages: Counts = {
        'gateway (tool calls)': sumByLabel(metrics, 'asya_gateway_tool_calls_total', 'outcome').created ?? 0,
      };
      return { dbRowWrites: {}, dbScans: {}, httpRequests, brokerMessages };
    };
    const baseline = await readCounters();

    return {
      name: 'asya (asya dev, memory)',
      pids,
      async call(i) {
        const res = await http.request('POST', '/tools/call', JSON.stringify({ name: TOOL, arguments: { text: `${i} ${text}` } }), json);
        if (res.status !== 200 || res.text.includes('"isError":true')) throw new Error(`tools/call answered ${res.status}: ${res.text.slice(0, 300)}`);
        const id = (JSON.parse((JSON.parse(res.text) as { content: Array<{ text: string }> }).content[0]!.text) as { envelope_id: string }).envelope_id;
        const stream = await http.request('GET', `/envelopes/${id}/stream`);
        if (!stream.text.includes('"status":"succeeded"')) throw new Error(`envelope ${id} did not succeed: ${stream.status} ${stream.text.slice(-300)}`);
      },
      async counters() {
        const now = await readCounters();
        return countersSince(baseline, now);
      },
      // PGlite lives inside asya dev, out of the bench's reach (and runs no autovacuum either).
      async analyze() {},
      // The memory transport's queues live inside asya dev; the bench cannot see or empty them.
      async backlog() {
        return {};
      },
      async purge() {},
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
