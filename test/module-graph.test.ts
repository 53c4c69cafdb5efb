/**
 * The production module graph, as esbuild sees it when it bundles the CLI (the Makefile's and the
 * Dockerfile's entry point): no test support in it, no import cycles, and the gateway's layers pointing one
 * way (core below http and mcp; docs/contributing.md: settings and protocol depend on nothing else of ours).
 */
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
/** Module → the modules of ours it imports (statically or dynamically), paths relative to the repository. */
let graph: Map<string, string[]>;
/** The same, static imports only: what loading a module loads with it. */
let staticGraph: Map<string, string[]>;

beforeAll(async () => {
  const result = await build({
    entryPoints: [resolve(ROOT, 'cli/bin.ts')], absWorkingDir: ROOT, bundle: true, splitting: true, write: false, metafile: true,
    platform: 'node', target: 'node20', format: 'esm', packages: 'external', outdir: 'unused', logLevel: 'silent',
  });
  graph = new Map(Object.entries(result.metafile.inputs).map(([path, input]) => [path, input.imports.filter((i) => !i.external).map((i) => i.path)]));
  staticGraph = new Map(Object.entries(result.metafile.inputs).map(([path, input]) => [path, input.imports.filter((i) => !i.external && i.kind !== 'dynamic-import').map((i) => i.path)]));
});

/** Every module that loading `start` loads, following static imports only. */
function loadedWith(start: string): Set<string> {
  const seen = new Set<string>();
  const visit = (module: string): void => {
    if (seen.has(module)) return;
    seen.add(module);
    for (const next of staticGraph.get(module) ?? []) visit(next);
  };
  visit(start);
  return seen;
}

const under = (folder: string) => (path: string) => path.startsWith(`${folder}/`);

/** Every import from a module matching `from` to one matching `to`, as "from -> to". */
function edges(from: (path: string) => boolean, to: (path: string) => boolean): string[] {
  return [...graph].flatMap(([path, imports]) => (from(path) ? imports.filter(to).map((target) => `${path} -> ${target}`) : []));
}

/** Strongly connected components of more than one module (Tarjan). */
function cycles(): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) component.push(w);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the production module graph (cli/bin.ts bundled)', () => {
  it('reaches the components, the gateway core and the contract among them', () => {
    // A graph that lost its way would pass every check below.
    for (const module of ['gateway/core/tool-call.ts', 'gateway/http/tool-routes.ts', 'gateway/mcp/server.ts', 'protocol/gateway-contract.ts', 'cli/client/gateway-client.ts', 'charts-ts/platform.ts']) {
      expect(graph.has(module), module).toBe(true);
    }
  });

  it('holds no test support', () => {
    expect([...graph.keys()].filter((path) => path.startsWith('test/') || /\.(test|case)\.ts$/.test(path) || /test-(harness|support)/.test(path))).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles()).toEqual([]);
  });

  it('keeps settings free of anything of ours, and protocol free of anything but settings', () => {
    expect(edges(under('settings'), (target) => !under('settings')(target))).toEqual([]);
    expect(edges(under('protocol'), (target) => !under('protocol')(target) && !under('settings')(target) && target !== 'package.json')).toEqual([]);
  });

  it('keeps telemetry on settings alone (and the OpenTelemetry packages), under the components that trace', () => {
    expect(edges(under('telemetry'), (target) => !under('telemetry')(target) && !under('settings')(target))).toEqual([]);
    // crew/tracing.ts is reached through the crew handlers, which the runtime loads by path, not the CLI.
    for (const user of ['sidecar/hop-trace.ts', 'gateway/tracing.ts']) expect(graph.get(user), user).toContain('telemetry/index.ts');
  });

  it('loads an envelope store, with its database client, only when the gateway opens that one', () => {
    const stores = ['gateway/store/pglite.ts', 'gateway/store/postgres.ts'];
    expect(stores.filter((store) => graph.has(store))).toEqual(stores);
    expect([...loadedWith('gateway/server.ts')].filter((module) => stores.includes(module))).toEqual([]);
  });

  it('keeps the gateway core below both of its surfaces', () => {
    const surfaces = (path: string) => under('gateway/http')(path) || under('gateway/mcp')(path) || path === 'gateway/app.ts' || path === 'gateway/server.ts';
    expect(edges(under('gateway/core'), surfaces)).toEqual([]);
    expect(edges(under('gateway/http'), under('gateway/mcp'))).toEqual([]);
    // /mcp is an HTTP route: it reads its body with the same plumbing, and nothing else of the REST surface.
    expect(edges(under('gateway/mcp'), under('gateway/http'))).toEqual(['gateway/mcp/http.ts -> gateway/http/request-body.ts']);
  });
});
