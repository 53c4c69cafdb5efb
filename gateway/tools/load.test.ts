import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTools, parseToolsFile, buildTools, ToolConfigError } from './index.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function files(contents: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'asya-tools-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(contents)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const load = (text: string) => buildTools([parseToolsFile('tools.yaml', text)]);
const fails = (text: string) => expect(() => load(text)).toThrow(ToolConfigError);

const ORIGINAL_STYLE = `
defaults:
  progress: true
  timeout: 120
routes:
  pipeline: [test-doubler, test-incrementer]
tools:
- name: test_echo
  description: Echo a message
  parameters:
    message: {type: string, description: The message, required: true}
  route: [test-echo]
  progress: false
  metadata: {team: search, version: 2}
- name: test_pipeline
  description: Double then add
  parameters:
    value: {type: integer, required: true}
    mode: {type: string, options: [fast, slow], default: fast}
    tags: {type: array, items: {type: string}}
    opts:
      type: object
      properties:
        depth: {type: number, default: 1.5}
        strict: {type: boolean, required: true}
  route: pipeline
  timeout: 0
- name: test_slow
  route: [test-slow]
  timeout: 5m
`;

describe('tools configuration', () => {
  it('reads the original format: defaults, route templates, per-tool options, metadata', () => {
    const [echo, pipeline, slow] = load(ORIGINAL_STYLE);
    expect(echo).toMatchObject({
      name: 'test_echo', actors: ['test-echo'], progress: false, timeoutSeconds: 120, metadata: { team: 'search', version: '2' },
    });
    expect(pipeline).toMatchObject({ actors: ['test-doubler', 'test-incrementer'], progress: true, timeoutSeconds: 0 });
    expect(pipeline?.metadata).toBeUndefined();
    expect(slow).toMatchObject({ description: '', parameters: {}, timeoutSeconds: 300, progress: true });
  });

  it('builds a JSON Schema with enums, integers, objects with properties, array items and defaults', () => {
    const pipeline = load(ORIGINAL_STYLE)[1];
    expect(pipeline?.inputSchema).toEqual({
      type: 'object',
      properties: {
        value: { type: 'integer' },
        mode: { type: 'string', enum: ['fast', 'slow'], default: 'fast' },
        tags: { type: 'array', items: { type: 'string' } },
        opts: {
          type: 'object',
          properties: { depth: { type: 'number', default: 1.5 }, strict: { type: 'boolean' } },
          required: ['strict'],
        },
      },
      required: ['value'],
    });
    expect(load(ORIGINAL_STYLE)[2]?.inputSchema).toEqual({ type: 'object', properties: {} });
  });

  it('uses the original defaults when none are given: no progress, a 5 minute timeout', () => {
    expect(load('tools: [{name: t, route: [a]}]')[0]).toMatchObject({ progress: false, timeoutSeconds: 300 });
  });

  it.each([
    ['tools:\n- name: t\n  route: [a]\n  enum: [x]\n', 'tools.yaml:4:3: tools[t]: unknown key "enum" (allowed: name, description, parameters, route, progress, timeout, metadata)'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {type: string, enum: [x]}\n', 'tools.yaml:5:23: tools[t].parameters.p: unknown key "enum"'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {type: text}\n', 'tools.yaml:5:15: tools[t].parameters.p.type: unknown type "text" (one of string, number, integer, boolean, object, array)'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {description: x}\n', 'tools[t].parameters.p: type is required'],
    ['tools:\n- name: t\n  route: [a]\n  timeout: -1\n', 'tools.yaml:4:12: tools[t].timeout: must be a whole number of seconds >= 0, got -1'],
    ['tools:\n- name: t\n  route: [a]\n  progress: "yes"\n', 'tools[t].progress: must be true or false, got "yes"'],
    ['tools:\n- name: t\n  route: missing\n', 'tools.yaml:3:10: tools[t].route: route template "missing" not found'],
    ['tools:\n- name: t\n  route: []\n', 'tools[t].route: route cannot be empty'],
    ['tools:\n- name: t\n', 'tools[t]: route has no actors or template'],
    ['tools:\n- name: t\n  route: [Bad_Actor]\n', 'tools[t].route[0]: "Bad_Actor" is not a valid actor name'],
    ['tools:\n- route: [a]\n', 'tools[0]: name is required'],
    ['tools:\n- name: "has space"\n  route: [a]\n', 'must be 1-128 characters'],
    ['tools:\n- {name: t, route: [a]}\n- {name: t, route: [b]}\n', 'tools.yaml:3:10: tools[t]: duplicate tool name (first defined at tools.yaml:2:10)'],
    ['tools: []\n', 'tools.yaml: no tools defined'],
    ['', 'no tools defined'],
    ['toolz: []\n', 'unknown key "toolz" (allowed: defaults, routes, tools)'],
    ['defaults: {timeout: 5, retries: 3}\ntools: [{name: t, route: [a]}]\n', 'defaults: unknown key "retries"'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {type: integer, default: 1.5}\n', 'tools[t].parameters.p.default: default 1.5 is not an integer'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {type: string, options: [a, b], default: c}\n', 'default "c" is not one of the options'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {type: boolean, options: [true]}\n', 'options are for string, number or integer parameters'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {type: string, properties: {}}\n', 'only an object parameter has properties'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {type: array, items: {type: string, required: true}}\n', 'tools[t].parameters.p.items: unknown key "required"'],
    ['tools:\n- name: t\n  route: [a]\n  parameters:\n    p: {type: object, properties: {q: {type: set}}}\n', 'tools[t].parameters.p.properties.q.type: unknown type "set"'],
    ['tools:\n- name: t\n  name: u\n  route: [a]\n', 'tools.yaml:3:3: invalid YAML: Map keys must be unique'],
    ['tools: [{name: t, route: [a]\n', 'tools.yaml:2:1: invalid YAML: Flow map in block collection must be sufficiently indented'],
    ['tools:\n- name: t\n  route: [a]\n  metadata: {k: [1]}\n', 'tools[t].metadata.k: must be a string, got a list'],
  ])('rejects %j with a message naming file, position and field', (text, message) => {
    expect(() => load(text)).toThrow(message);
  });

  it('accepts "5m"-style durations and an explicit timeout of 0 (no deadline)', () => {
    expect(load('defaults: {timeout: 1m30s}\ntools: [{name: t, route: [a]}, {name: u, route: [a], timeout: 0}]')).toMatchObject([
      { timeoutSeconds: 90 },
      { timeoutSeconds: 0 },
    ]);
    fails('tools: [{name: t, route: [a], timeout: soon}]');
  });
});

describe('tools configuration: files and directories', () => {
  it('loads a single file', async () => {
    const dir = await files({ 'one.yaml': ORIGINAL_STYLE });
    const tools = await loadTools(join(dir, 'one.yaml'));
    expect(tools.list().map((t) => t.name)).toEqual(['test_echo', 'test_pipeline', 'test_slow']);
    expect(tools.get('test_echo')?.actors).toEqual(['test-echo']);
    expect(tools.get('nope')).toBeUndefined();
  });

  it('merges every *.yaml and *.yml of a directory; templates resolve across files', async () => {
    const dir = await files({
      'a-routes.yaml': 'routes:\n  shared: [x, y]\n',
      'b-tools.yml': 'defaults: {progress: true}\ntools:\n- {name: zeta, route: shared}\n',
      'c-more.yaml': 'tools:\n- {name: alpha, route: [z]}\n',
      'notes.txt': 'not yaml: [',
    });
    const tools = await loadTools(dir);
    expect(tools.list().map((t) => [t.name, t.actors, t.progress])).toEqual([
      ['alpha', ['z'], true],
      ['zeta', ['x', 'y'], true],
    ]);
  });

  it('rejects duplicates across files and names both places', async () => {
    const dupTool = await files({ 'a.yaml': 'tools: [{name: t, route: [a]}]\n', 'b.yaml': 'tools:\n- {name: t, route: [b]}\n' });
    await expect(loadTools(dupTool)).rejects.toThrow(/b\.yaml:2:10: tools\[t\]: duplicate tool name \(first defined at .*a\.yaml:1:16\)/);
    const dupRoute = await files({ 'a.yaml': 'routes: {r: [a]}\ntools: [{name: t, route: r}]\n', 'b.yaml': 'routes:\n  r: [b]\n' });
    await expect(loadTools(dupRoute)).rejects.toThrow(/b\.yaml:2:3: routes\.r: route template "r" is already defined at .*a\.yaml/);
    const dupDefault = await files({ 'a.yaml': 'defaults: {timeout: 1}\ntools: [{name: t, route: [a]}]\n', 'b.yaml': 'defaults: {timeout: 2}\n' });
    await expect(loadTools(dupDefault)).rejects.toThrow(/b\.yaml:1:21: defaults\.timeout: already set at .*a\.yaml:1:21/);
  });

  it('says clearly when the path is missing or the directory has no YAML', async () => {
    await expect(loadTools('/nonexistent/tools.yaml')).rejects.toThrow('/nonexistent/tools.yaml: cannot read the tools configuration');
    const empty = await files({ 'readme.md': '#' });
    await expect(loadTools(empty)).rejects.toThrow('no *.yaml or *.yml files in this directory');
  });
});
