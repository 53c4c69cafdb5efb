/**
 * examples/pipeline through `asya dev`, as a user runs it: the CLI starts the gateway, the seven actors and the
 * crew from the example's manifests, and the test calls the tools over the gateway's REST surface. Every
 * call of demo.yaml is made and its `expect` checked, then the results are examined in detail: the
 * fan-out, the judge's refine loop and its bound, the order of the gathered results, and the failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ASYA_BIN, startDev, type DevProcess } from './support/dev-process.ts';
import { REPO_ROOT } from './support/runtime-process.ts';

const EXAMPLE = join(REPO_ROOT, 'examples/pipeline');

interface DemoCall {
  tool: string;
  arguments: Record<string, unknown>;
  expect: { status: 'succeeded' | 'failed'; error?: string };
}

interface EnvelopeView {
  id: string;
  status: string;
  route: { actors: string[]; current: number };
  result?: unknown;
  error?: string;
  message?: string;
}

interface ChunkRecord {
  index: number;
  of: number;
  verdict: 'accepted' | 'needs_review';
  score: number;
  rounds: number;
  text: string;
  edits: string[];
  history: Array<{ round: number; score: number }>;
}

const demo = YAML.parse(readFileSync(join(EXAMPLE, 'demo.yaml'), 'utf8')) as DemoCall[];

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('examples/pipeline under asya dev', () => {
  let dev: DevProcess;
  let gateway = '';
  let workdir = '';
  const finals = new Map<number, EnvelopeView>();

  async function getJson<T>(path: string): Promise<T> {
    const res = await fetch(`${gateway}${path}`);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async function callTool(name: string, args: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${gateway}/tools/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, arguments: args }),
    });
    const body = (await res.json()) as { content: Array<{ text: string }>; isError?: boolean };
    const text = body.content[0]?.text ?? '';
    if (!res.ok || body.isError) throw new Error(`${name} refused (${res.status}): ${text}`);
    return (JSON.parse(text) as { envelope_id: string }).envelope_id;
  }

  function waitFinal(id: string): Promise<EnvelopeView> {
    return until(`envelope ${id} to finish`, async () => {
      const view = await getJson<EnvelopeView>(`/envelopes/${encodeURIComponent(id)}`);
      return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
    });
  }

  beforeAll(async () => {
    workdir = mkdtempSync(join(tmpdir(), 'asya-example-pipeline-'));
    // A scratch working directory and store: dev mode keeps results and state under ./.asya otherwise.
    dev = await startDev(EXAMPLE, ['--data-dir', join(workdir, 'store')], {}, workdir);
    gateway = dev.url;
    const ids = await Promise.all(demo.map((call) => callTool(call.tool, call.arguments)));
    const views = await Promise.all(ids.map(waitFinal));
    views.forEach((view, i) => finals.set(i, view));
  }, 150_000);

  afterAll(async () => {
    await dev?.stop();
    rmSync(workdir, { recursive: true, force: true });
  });

  test('every call in demo.yaml ends as it expects', () => {
    demo.forEach((call, i) => {
      const view = finals.get(i)!;
      expect(view.status, `${call.tool} #${i}: ${JSON.stringify(view)}`).toBe(call.expect.status);
      if (call.expect.error) {
        const result = view.result as { details?: { message?: string } };
        expect(result.details?.message).toContain(call.expect.error);
      }
    });
  });

  test('review_document fans out into three chunks whose records come back in chunk order', () => {
    const records = finals.get(0)!.result as ChunkRecord[];
    expect(records).toHaveLength(3);
    expect(records.map((r) => [r.index, r.of])).toEqual([[0, 3], [1, 3], [2, 3]]);
    expect(records[0]!.text).toMatch(/^The gateway now streams progress/);
    expect(records[2]!.text).toBe('Thanks, team.');
  });

  test('a clean chunk is accepted at once; a weak one is refined, rescored and accepted', () => {
    const [good, weak] = finals.get(0)!.result as ChunkRecord[];
    expect(good).toMatchObject({ verdict: 'accepted', rounds: 0, edits: [] });
    expect(good!.history).toHaveLength(1);

    expect(weak).toMatchObject({ verdict: 'accepted', rounds: 1 });
    expect(weak!.history[0]!.score).toBeLessThan(0.6);
    expect(weak!.history[1]!.score).toBeGreaterThanOrEqual(0.6);
    expect(weak!.edits).toEqual(['removed "Basically"', 'removed "really"', '"u" → "you"', 'removed "VERY"']);
    expect(weak!.text).toBe('The retry logic is much better now, you will see fewer failed messages. Timeouts restart a hung runtime instead of the whole pod, which is nice.');
  });

  test('a chunk refine cannot fix stops after max_rounds, flagged needs_review', () => {
    const short = (finals.get(0)!.result as ChunkRecord[])[2]!;
    expect(short).toMatchObject({ verdict: 'needs_review', rounds: 2 });
    expect(short.history.map((h) => h.round)).toEqual([0, 1, 2]);
    expect(short.score).toBeLessThan(0.6);
  });

  test('the gateway records each chunk as a child with the route the judge extended', async () => {
    const parent = finals.get(0)!;
    const { envelopes } = await getJson<{ envelopes: EnvelopeView[] }>(`/envelopes?parent_id=${encodeURIComponent(parent.id)}`);
    const byId = new Map(envelopes.map((e) => [e.id, e]));
    const routes = [0, 1, 2].map((i) => byId.get(`${parent.id}-${i}`)?.route.actors);
    const loop = ['refine', 'score', 'judge'];
    expect(routes[0]).toEqual(['clean', 'chunk', 'score', 'judge', 'publish']);
    expect(routes[1]).toEqual(['clean', 'chunk', 'score', 'judge', ...loop, 'publish']);
    expect(routes[2]).toEqual(['clean', 'chunk', 'score', 'judge', ...loop, ...loop, 'publish']);
    expect(envelopes.every((e) => e.status === 'succeeded')).toBe(true);
  });

  test('score_text takes the short route and the scorer instance keeps count', () => {
    const result = finals.get(1)!.result as { score: number; terms: string[]; scorer_calls: number };
    expect(result.score).toBe(0.8);
    expect(result.terms).toEqual(['actor', 'envelope', 'route', 'sidecar']);
    // One Scorer instance served this call, the document's six scorings (1 + 2 + 3) and assess_document's
    // two, in whatever order.
    expect(result.scorer_calls).toBeGreaterThanOrEqual(1);
    expect(result.scorer_calls).toBeLessThanOrEqual(9);
  });

  test('an empty document fails at clean, once, with the handler’s message', async () => {
    const view = finals.get(2)!;
    const result = view.result as { error: string; failed_actor: string; details: { type: string; message: string } };
    expect(result.failed_actor).toBe('clean');
    expect(result.details.type).toBe('ValueError');
    expect(result.details.message).toBe("document 'Empty page' has no text left after cleaning (41 characters of markup and whitespace)");
    expect(view.message).toContain("actor 'clean'");
    // ValueError is non-retryable in actors/clean.yaml: error-end reports no "retry k/N" progress before
    // the failure. The stream of a finished envelope replays its history and ends.
    const history = await (await fetch(`${gateway}/envelopes/${encodeURIComponent(view.id)}/stream`)).text();
    expect(history).toContain('"status":"failed"');
    expect(history).not.toMatch(/retry \d/);
  });

  test('assess_document: every chunk scored in parallel, fan-in, then one verdict on the whole document', async () => {
    const view = finals.get(3)!;
    expect(view.result).toMatchObject({ verdict: 'needs_work', chunks: 2, scores: [0.85, 0.25], mean_score: 0.55, failed_chunks: [] });
    expect((view.result as { weakest: { index: number } }).weakest.index).toBe(1);
    // The children ended at the fan-in; the document itself went on to assess under its own id.
    const { envelopes } = await getJson<{ envelopes: EnvelopeView[] }>(`/envelopes?parent_id=${encodeURIComponent(view.id)}`);
    expect(envelopes.map((e) => [e.status, e.message]).sort()).toEqual([
      ['succeeded', `Joined fan-in fan-in of ${view.id}`],
      ['succeeded', `Joined fan-in fan-in of ${view.id}`],
    ]);
  });

  test('a call with arguments of the wrong type is refused before anything runs', async () => {
    await expect(callTool('review_document', { title: 'x', text: 'y', chunk_sentences: 'two' })).rejects.toThrow(/chunk_sentences/);
  });

  test('Ctrl-C stops asya dev cleanly', async () => {
    expect(await dev.stop('SIGINT')).toBe(0);
  });
});

test('asya dev examples/pipeline --demo (make demo) exits 0', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'asya-example-demo-'));
  try {
    const run = spawnSync(process.execPath, [ASYA_BIN, 'dev', EXAMPLE, '--demo'], { cwd: workdir, encoding: 'utf8', timeout: 150_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    // Exit 0 means every call ended as demo.yaml expects; the output shows the results and the error.
    expect(run.stdout).toContain('Thanks, team.');
    expect(run.stdout).toContain('no text left after cleaning');
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}, 160_000);
