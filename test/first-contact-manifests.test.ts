/**
 * Files a new user writes that are wrong: every problem is reported at once, in the place that reads the
 * file, instead of passing silently (a misspelled field dropped, a default used) or failing later.
 */
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { validateAsyncActor } from '../api/index.ts';
import { readDemoFile, unmet } from '../cli/dev/demo-file.ts';
import { asya } from './support/dev-process.ts';
import { actorManifest, emptyProject, GREET_PY, type Project } from './support/new-project.ts';
import YAML from 'yaml';
import { TRANSPORT_NAMES } from '../protocol/transports.ts';

let project: Project | undefined;
afterEach(() => {
  project?.cleanup();
  project = undefined;
});

test('asya dev names every problem of every manifest in one run: misspelled fields with the nearest name, a runtime without ASYA_HANDLER', async () => {
  project = emptyProject();
  project.write('greet.py', GREET_PY);
  project.write('greet.yaml', actorManifest('greet', 'greet.process', '\n  scalling: {enabled: true}\n  scaling:\n    maxReplica: 3'));
  project.write('other.yaml', actorManifest('other', 'greet.process').replace(/- name: ASYA_HANDLER\n\s+value: "greet.process"/, '- name: OTHER\n            value: "x"'));
  const run = await asya(['dev', project.dir, '--port', '0', '--no-table'], {}, project.dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('spec.scaling: unknown field "maxReplica" (did you mean maxReplicas?)');
  expect(run.stderr).toContain('spec: unknown field "scalling" (did you mean scaling?)');
  expect(run.stderr).toContain('(other) is not a valid AsyncActor: spec.workload.template.spec.containers[0].env: the asya-runtime container needs an env entry ASYA_HANDLER');
}, 120_000);

test("Kubernetes' own pod template fields are not refused, and a manifest with several kinds of problems gets all of them", () => {
  const manifest = YAML.parse(actorManifest('ok', 'm.f')) as { spec: { workload: { template: { spec: Record<string, unknown> } } } };
  Object.assign(manifest.spec.workload.template.spec, { nodeSelector: { pool: 'gpu' }, tolerations: [{ key: 'gpu', operator: 'Exists' }] });
  expect(validateAsyncActor(manifest).ok).toBe(true);
  const broken = YAML.parse(actorManifest('ok', 'm.f', '\n  scaling: {maxReplicas: "many", maxReplica: 2}')) as { spec: Record<string, unknown> };
  broken.spec.transport = 'kafka';
  const result = validateAsyncActor(broken);
  expect(result.ok).toBe(false);
  expect(!result.ok && result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
    'spec.scaling.maxReplicas: Invalid input: expected number, received string',
    'spec.scaling: unknown field "maxReplica" (did you mean maxReplicas?)',
    `spec.transport: unknown transport "kafka": must be one of ${TRANSPORT_NAMES.join(', ')}`,
  ]);
});

test('asya synth --tools refuses a tools file the gateway would refuse, with the gateway\'s own message', async () => {
  project = emptyProject();
  const bad = project.write('tools.yaml', 'tools:\n- name: greet\n  route: [greet]\n  paramters: {name: {type: string}}\n');
  const run = await asya(['synth', '--tools', bad, '--out', join(project.dir, 'out')], {}, project.dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(`--tools ${bad}: the gateway would refuse this file: ${bad}:4:3: tools[greet]: unknown key "paramters"`);
  const good = project.write('good.yaml', 'tools:\n- name: greet\n  route: [greet]\n');
  const ok = await asya(['synth', '--tools', good, '--crew-ephemeral-results', '--out', join(project.dir, 'out')], {}, project.dir);
  expect(ok.status, ok.stderr).toBe(0);
}, 120_000);

test('demo.yaml: an unknown key is an error naming the nearest one; expect.result matches a successful result', () => {
  project = emptyProject();
  const typo = project.write('demo.yaml', '- tool: greet\n  arguments: {name: Ada}\n  expect: {status: succeeded, reslt: {greeting: hello Ada}}\n');
  expect(() => readDemoFile(typo)).toThrow("call 1: expect: unknown key 'reslt' (did you mean result?); allowed: status, error, result");
  const topTypo = project.write('demo2.yaml', '- tool: greet\n  argument: {name: Ada}\n');
  expect(() => readDemoFile(topTypo)).toThrow("call 1: unknown key 'argument' (did you mean arguments?)");

  const file = project.write('demo3.yaml', '- tool: greet\n  arguments: {name: Ada}\n  expect: {result: {greeting: hello Ada}}\n');
  const [call] = readDemoFile(file);
  expect(unmet(call!.expect, { status: 'succeeded', text: '', result: { greeting: 'hello Ada', extra: 1 } })).toBeUndefined();
  expect(unmet(call!.expect, { status: 'succeeded', text: '', result: { greeting: 'hello Bob' } })).toBe(
    'expected the result to contain {"greeting":"hello Ada"}, got {"greeting":"hello Bob"}',
  );
  expect(unmet(call!.expect, { status: 'failed', text: 'boom' })).toBe('expected succeeded, got failed');
});
