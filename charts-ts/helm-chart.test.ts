/**
 * `asya synth --format helm`: the chart's templates rendered (test/support/helm-template.ts; no helm binary here)
 * with the default values give exactly the plain synth objects, and with the values file documented in
 * docs/platform.md every value lands where the docs say, with every object still schema-valid.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { validateAsyncActor } from '../api/index.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { readDocPage } from '../test/support/doc-blocks.ts';
import { mergeValues, renderTemplate } from '../test/support/helm-template.ts';
import { validateKubeObject } from '../test/support/kube-schemas.ts';
import { helmChartFiles, splitImage } from './helm-chart.ts';
import { MONITORING_API_VERSION } from './monitoring-chart.ts';
import { resolveOptions, type PlatformOptions } from './options.ts';
import { at, containersOf, only, podSpecOf, synthObjects, withCrewStorage } from '../test/support/charts.ts';
import { errorText } from '../protocol/errors.ts';

const REPO = join(import.meta.dirname, '..');
const DOCUMENTED_VALUES = 'values-prod.yaml';

function documentedValues(): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- a values file read for assertions
  const block = readDocPage(join(REPO, 'docs/platform.md'), 'docs/platform.md').blocks.find((b) => b.mark?.kind === 'file' && b.mark.path === DOCUMENTED_VALUES);
  if (!block) throw new Error(`docs/platform.md has no block marked "doc-test: file ${DOCUMENTED_VALUES}"`);
  return YAML.parse(block.content) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- as above
}

/** The objects `helm template` would print: every template rendered with the chart's values under `overrides`. */
function render(files: Map<string, string>, overrides: unknown = {}): KubeObject[] {
  const values = mergeValues(YAML.parse(files.get('values.yaml')!), overrides);
  return [...files]
    .filter(([path]) => path.startsWith('templates/'))
    .flatMap(([path, text]) => {
      const out = renderTemplate(text, { Values: values, Release: { Name: 'asya', Namespace: 'asya-system' } });
      try {
        return YAML.parseAllDocuments(out).map((d) => d.toJS() as KubeObject | null).filter((o) => o !== null);
      } catch (err) {
        throw new Error(`${path} rendered to invalid YAML: ${errorText(err)}\n${out}`);
      }
    });
}

async function validate(object: KubeObject): Promise<void> {
  if (object.kind === 'AsyncActor') expect(validateAsyncActor(object).ok, JSON.stringify(validateAsyncActor(object))).toBe(true);
  else if (object.apiVersion !== MONITORING_API_VERSION) await validateKubeObject(object); // no Prometheus-operator schema here (schemas.test.ts checks their shape)
}

const variants: [string, PlatformOptions][] = [
  ['minimal --trial', { pattern: 'minimal', trial: true }],
  ['standard with tools and tokens', { pattern: 'standard', gateway: { tools: 'tools: []\n', tokenSecret: 'asya-tokens' } }],
  ['full --trial, crew expanded, image from a registry', { pattern: 'full', trial: true, image: 'registry.example.com/asya:9.9.9', crew: { expand: true } }],
  ['full on sqs', { pattern: 'full', transport: 'sqs', gateway: { tokenSecret: 'asya-tokens' }, platform: { transports: { sqs: { accountId: '123456789012' } } } }],
];

describe.each(variants)('%s', (_label, options) => {
  const objects = synthObjects(options);
  const files = helmChartFiles(objects, resolveOptions(withCrewStorage(options))[0]!);

  test('with the default values the templates give the plain synth objects; the CRD is under crds/, the Namespace is Helm\'s', () => {
    const plain = objects.filter((o) => o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace');
    const rendered = render(files);
    expect(rendered.filter((o) => o.kind !== 'Ingress')).toEqual(plain);
    expect(rendered.some((o) => o.kind === 'Ingress')).toBe(false);
    const crd = only(objects, 'CustomResourceDefinition', 'asyncactors.asya.sh');
    expect(YAML.parse(files.get('crds/asyncactors.asya.sh.yaml')!)).toEqual(crd);
    expect(YAML.parse(files.get('Chart.yaml')!)).toMatchObject({ apiVersion: 'v2', name: 'asya', type: 'application' });
  });

  test('with the documented values file every value lands where docs/platform.md says, and every object is schema-valid', async () => {
    const values = documentedValues();
    const rendered = render(files, values);
    const image = `${values.image.repository}:${values.image.tag}`;
    const defaultImage = new RegExp(`(?<![\\w./-])${resolveOptions(withCrewStorage(options))[0]!.image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`);
    for (const object of rendered) {
      const pod = podSpecOf(object) ?? (at(object, 'spec', 'workload', 'template', 'spec') as ReturnType<typeof podSpecOf>);
      if (pod) {
        expect(pod.imagePullSecrets, `${object.kind}/${object.metadata.name}`).toEqual(values.imagePullSecrets);
        expect(pod.nodeSelector).toEqual(values.nodeSelector);
        expect(pod.tolerations).toEqual(values.tolerations);
        expect(pod.affinity).toEqual(values.affinity);
      }
      // The default image is gone everywhere, the platform settings' sidecar image included.
      expect(JSON.stringify(object)).not.toMatch(defaultImage);
      await validate(object);
    }
    const deployment = (name: string) => only(rendered, 'Deployment', name);
    for (const component of ['controller', ...(options.pattern === 'minimal' ? [] : ['gateway'])] as const) {
      const d = deployment(`asya-${component}`);
      expect(at(d, 'spec', 'replicas')).toBe(values[component].replicas);
      const main = containersOf(d)[0]!;
      expect(main.image).toBe(image);
      expect(main.imagePullPolicy).toBe(values.image.pullPolicy);
      expect(main.resources).toEqual(values[component].resources);
      expect(only(rendered, 'ServiceAccount', `asya-${component}`).metadata.annotations).toEqual(values[component].serviceAccount.annotations);
    }
    const platformFile = at(only(rendered, 'ConfigMap', 'asya-platform'), 'data', 'platform.yaml') as string;
    expect(at(YAML.parse(platformFile), 'spec', 'sidecar', 'image')).toBe(image);
    if (!options.crew?.expand) {
      const runtime = (at(only(rendered, 'AsyncActor', 'happy-end'), 'spec', 'workload', 'template', 'spec', 'containers') as { name: string; image: string; resources: unknown }[])[0]!;
      expect(runtime.image).toBe(image);
      expect(runtime.resources).toEqual(values.crew.resources);
    }
    const ingresses = rendered.filter((o) => o.kind === 'Ingress');
    if (options.pattern === 'minimal') {
      expect(ingresses).toEqual([]);
    } else {
      expect(ingresses).toHaveLength(1);
      expect(ingresses[0]!.metadata.annotations).toEqual(values.gateway.ingress.annotations);
      expect(ingresses[0]!.spec).toEqual({
        ingressClassName: values.gateway.ingress.className,
        tls: values.gateway.ingress.tls,
        rules: [{ host: values.gateway.ingress.host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'asya-gateway', port: { number: 80 } } } }] } }],
      });
    }
  });
});

test('an image without a tag splits as a container runtime reads it', () => {
  expect(splitImage('registry:5000/team/asya')).toEqual({ repository: 'registry:5000/team/asya', tag: 'latest' });
  expect(splitImage('registry:5000/team/asya:1.2')).toEqual({ repository: 'registry:5000/team/asya', tag: '1.2' });
});

describe('asya synth --format helm as a process', () => {
  const work = mkdtempSync(join(tmpdir(), 'asya-helm-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  // From the repository, where tsx resolves; the chart goes to a temporary directory.
  const synth = (args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO, 'test/support/synth-entry.ts'), ...args], { cwd: REPO });

  test('writes the chart in <out>/asya and lists its files', async () => {
    const { stdout } = await synth(['--format', 'helm', '--pattern', 'standard', '--trial', '--out', join(work, 'out')]);
    const chart = join(work, 'out', 'asya');
    expect(readdirSync(chart).sort()).toEqual(['Chart.yaml', 'crds', 'templates', 'values.yaml']);
    expect(stdout.trim().split('\n')).toContain(join(chart, 'crds/asyncactors.asya.sh.yaml'));
    expect(readdirSync(join(chart, 'templates'))).toContain('deployment-asya-gateway.yaml');
    expect(readFileSync(join(chart, 'templates', 'deployment-asya-gateway.yaml'), 'utf8')).toContain('replicas: {{ .Values.gateway.replicas }}');
  });

  test('an unknown format is a usage error (exit 2) naming the formats', async () => {
    const failed = await synth(['--format', 'kustomize']).then(() => undefined, (err: { code: number; stderr: string }) => err);
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain('--format must be one of yaml, helm; got "kustomize"');
  });
});
