/**
 * A Prometheus of a test's own (Debian's `prometheus` binary, installed when missing): its own port, data
 * directory and scrape config, scraping the given targets every half second so a test sees a change soon.
 * The package's own service is never used.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAptBinary } from './apt.ts';
import { waitUntil } from './gateway-harness.ts';
import { freePort } from './moto.ts';
import { signalGroup } from './process-group.ts';

export const PROMETHEUS = '/usr/bin/prometheus';

export function ensurePrometheus(): string | undefined {
  return ensureAptBinary(PROMETHEUS, 'prometheus');
}

export interface TestPrometheus {
  readonly url: string;
  /** Instant query; answers the vector's samples. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Resolves once every target has been scraped up at least once. */
  targetsUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `targets` are `host:port` of /metrics endpoints; each gets the labels given with it. */
export async function startPrometheus(targets: Array<{ address: string; labels?: Record<string, string> }>): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'asya-prometheus-'));
  const port = await freePort();
  const staticConfigs = targets.map((t) => `      - targets: ['${t.address}']\n        labels: ${JSON.stringify(t.labels ?? {})}`).join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\nscrape_configs:\n  - job_name: sidecars\n    static_configs:\n${staticConfigs}\n`);
  let output = '';
  const child: ChildProcess = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (signalGroup(child, 'SIGTERM')) await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    signalGroup(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${output}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true;
    }, 60_000, 'prometheus ready');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`prometheus query ${promql}: ${body.error}`);
      return body.data.result;
    },
    async targetsUp(timeoutMs = 30_000) {
      await waitUntil(async () => {
        const res = (await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string }> } };
        return res.data.activeTargets.length === targets.length && res.data.activeTargets.every((t) => t.health === 'up');
      }, timeoutMs, 'every scrape target up');
    },
    stop,
  };
}
