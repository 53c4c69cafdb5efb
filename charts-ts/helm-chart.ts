/**
 * `asya synth --format helm`: the platform of one cluster as a Helm chart. The templates are the synthesized
 * objects themselves with a few fields handed to values, so `helm template` with the default values gives
 * what `asya synth` writes as plain YAML, and a Helm user tunes the fields Helm users expect to tune:
 *
 * | value | where it lands |
 * |---|---|
 * | `image.repository`, `image.tag`, `image.pullPolicy` | every use of the asya image: controller, gateway, migration Job, crew, sidecars (the platform settings) |
 * | `imagePullSecrets`, `nodeSelector`, `tolerations`, `affinity` | every pod the chart runs, the crew's included |
 * | `controller.replicas`, `gateway.replicas` | their Deployments |
 * | `controller.resources`, `gateway.resources`, `crew.resources` | their main containers |
 * | `controller.serviceAccount.annotations`, `gateway.serviceAccount.annotations` | their ServiceAccounts (IRSA: `eks.amazonaws.com/role-arn`) |
 * | `gateway.ingress.*` | an Ingress to the gateway's Service (off by default) |
 *
 * The CRD goes to `crds/` (Helm installs it first and never templates it). The Namespace is left out: Helm
 * makes it with `--create-namespace`. The templates use a small subset of Go templates (values, a string
 * constant, `toYaml`, `nindent`, `quote`, `with`, `if`, `end`, trim markers), which is what the test's
 * renderer (test/support/helm-template.ts) implements.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import pkg from '../package.json' with { type: 'json' };
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { GATEWAY_NAME, CONTROLLER_NAME, type ResolvedOptions } from './options.ts';
import { GATEWAY_SERVICE_PORT } from './gateway-chart.ts';
import { platformLabels } from './labels.ts';

export const HELM_CHART_NAME = 'asya';

/** Pod-level values every pod of the chart takes, with their defaults (empty: the field is left out). */
const POD_VALUES = { imagePullSecrets: [], nodeSelector: {}, tolerations: [], affinity: {} } as const;

/** Components whose Deployment, main container and ServiceAccount take values, by `app.kubernetes.io/component`. */
const TUNED = { controller: CONTROLLER_NAME, gateway: GATEWAY_NAME } as const;
type Tuned = keyof typeof TUNED;

// Markers put into the objects, then turned into template actions line by line after YAML.stringify.
const MARK = '__asya_helm__';
const valueMark = (path: string) => `${MARK}value:${path}`;
const blockMark = (path: string) => `${MARK}block:${path}`;
const withMark = (path: string) => `${MARK}with:${path}`;
const quotedWithMark = (path: string) => `${MARK}quotedwith:${path}`;
const MARKED_LINE = new RegExp(`^(\\s*)([\\w.-]+): ${MARK}(value|block|with|quotedwith):([\\w.]+)$`);

function actions(line: string): string {
  const m = MARKED_LINE.exec(line);
  if (!m) return line;
  const [, indent = '', key, kind, path] = m;
  const inner = indent.length + 2;
  switch (kind) {
    case 'value':
      return `${indent}${key}: {{ .Values.${path} }}`;
    case 'block':
      return `${indent}${key}: {{- toYaml .Values.${path} | nindent ${inner} }}`;
    case 'with':
      return `${indent}{{- with .Values.${path} }}\n${indent}${key}: {{- toYaml . | nindent ${inner} }}\n${indent}{{- end }}`;
    default:
      return `${indent}{{- with .Values.${path} }}\n${indent}${key}: {{ . | quote }}\n${indent}{{- end }}`;
  }
}

/** `registry/asya:1.2` → repository `registry/asya`, tag `1.2` (no tag: `latest`, as a container runtime reads it). */
export function splitImage(image: string): { repository: string; tag: string } {
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/')) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: 'latest' };
}

type Fields = Record<string, unknown>;

/** The object at a path of keys, or undefined where the path ends early. */
function child(value: unknown, ...keys: string[]): Fields | undefined {
  let node = value;
  for (const key of keys) node = typeof node === 'object' && node !== null ? (node as Fields)[key] : undefined;
  return typeof node === 'object' && node !== null ? (node as Fields) : undefined;
}

function podSpecOf(object: KubeObject): Fields | undefined {
  if (object.kind === 'AsyncActor') return child(object, 'spec', 'workload', 'template', 'spec');
  if (['Deployment', 'StatefulSet', 'Job'].includes(object.kind)) return child(object, 'spec', 'template', 'spec');
  return undefined;
}

const componentOf = (object: KubeObject) => object.metadata.labels?.['app.kubernetes.io/component'];

/** A copy of `object` with markers where values go; `defaults` collects each value's default. */
function mark(object: KubeObject, image: string, defaults: Record<string, Fields>): KubeObject {
  const copy = structuredClone(object);
  const component = componentOf(copy);
  const pod = podSpecOf(copy);
  if (pod) {
    for (const key of Object.keys(POD_VALUES)) if (pod[key] === undefined) pod[key] = withMark(key);
    const containers = [...((pod.initContainers as Fields[] | undefined) ?? []), ...((pod.containers as Fields[] | undefined) ?? [])];
    for (const container of containers) if (container.image === image && container.imagePullPolicy !== undefined) container.imagePullPolicy = valueMark('image.pullPolicy');
    const main = (pod.containers as Fields[] | undefined)?.[0];
    const tuned = component === 'crew' ? 'crew' : component && copy.metadata.name === TUNED[component as Tuned] ? component : undefined;
    if (main?.resources !== undefined && tuned && (copy.kind === 'Deployment' || copy.kind === 'AsyncActor')) {
      (defaults[tuned] ??= {}).resources ??= main.resources;
      main.resources = blockMark(`${tuned}.resources`);
    }
  }
  if (component && component in TUNED && copy.metadata.name === TUNED[component as Tuned]) {
    const values = (defaults[component] ??= {});
    const spec = child(copy, 'spec');
    if (copy.kind === 'Deployment' && spec) {
      values.replicas = spec.replicas ?? 1;
      spec.replicas = valueMark(`${component}.replicas`);
    }
    if (copy.kind === 'ServiceAccount') {
      values.serviceAccount = { annotations: copy.metadata.annotations ?? {} };
      copy.metadata.annotations = withMark(`${component}.serviceAccount.annotations`) as unknown as Record<string, string>;
    }
  }
  return copy;
}

/** The template text of one object: YAML with the markers turned into actions and the image into values. */
function template(object: KubeObject, image: string): string {
  const imageValue = '{{ .Values.image.repository }}:{{ .Values.image.tag }}';
  return YAML.stringify(object, { lineWidth: 0 })
    // Braces of the objects' own (the dashboard's Grafana legends, `{{queue}}`) must print as they are.
    .split('{{')
    .join('{{ "{{" }}')
    .split('\n')
    .map(actions)
    .join('\n')
    .split(image)
    .join(imageValue);
}

function gatewayIngress(options: ResolvedOptions): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: GATEWAY_NAME, namespace: options.namespace, labels: platformLabels(GATEWAY_NAME, 'gateway'), annotations: withMark('gateway.ingress.annotations') as unknown as Record<string, string> },
    spec: {
      ingressClassName: quotedWithMark('gateway.ingress.className'),
      tls: withMark('gateway.ingress.tls'),
      rules: [
        {
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: GATEWAY_NAME, port: { number: GATEWAY_SERVICE_PORT } } } }] },
          host: quotedWithMark('gateway.ingress.host'),
        },
      ],
    },
  };
}

const fileName = (object: KubeObject) => `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;

/** Every file of the chart, by path inside the chart directory. `objects` are one cluster's, in apply order. */
export function helmChartFiles(objects: KubeObject[], options: ResolvedOptions): Map<string, string> {
  const files = new Map<string, string>();
  const image = options.image;
  files.set('Chart.yaml', YAML.stringify({ apiVersion: 'v2', name: HELM_CHART_NAME, description: `${pkg.description}: the platform (pattern ${options.pattern})`, type: 'application', version: pkg.version, appVersion: pkg.version }));
  const defaults: Record<string, Fields> = {};
  const templates: [string, string][] = [];
  for (const object of objects) {
    if (object.kind === 'CustomResourceDefinition') files.set(`crds/${object.metadata.name}.yaml`, YAML.stringify(object, { lineWidth: 0 }));
    else if (object.kind !== 'Namespace') templates.push([fileName(object), template(mark(object, image, defaults), image)]);
  }
  if (options.gateway) {
    defaults.gateway = { ...defaults.gateway, ingress: { enabled: false, className: '', host: '', annotations: {}, tls: [] } };
    templates.push([`ingress-${GATEWAY_NAME}.yaml`, `{{- if .Values.gateway.ingress.enabled }}\n${template(gatewayIngress(options), image)}{{- end }}\n`]);
  }
  for (const [name, text] of templates) files.set(`templates/${name}`, text);
  const values = { image: { ...splitImage(image), pullPolicy: options.imagePullPolicy }, ...POD_VALUES, ...defaults };
  files.set('values.yaml', `# Values of the asya platform chart (docs/platform.md, "With Helm"); every key is listed with its default.\n${YAML.stringify(values)}`);
  return files;
}

/**
 * Writes the chart into `dir`, replacing the templates and CRDs a previous run wrote there (a chart a pattern no
 * longer has would otherwise linger); answers the files written, relative to `dir`.
 */
export function writeHelmChart(dir: string, files: Map<string, string>): string[] {
  for (const sub of ['templates', 'crds']) rmSync(join(dir, sub), { recursive: true, force: true });
  for (const [path, text] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return [...files.keys()];
}
