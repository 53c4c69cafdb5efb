/**
 * `asya synth`: writes the platform manifests (charts-ts/) for a deployment pattern, one file per chart,
 * to `dist/` or `--out`; multi-cluster writes one folder per cluster.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseOptions } from './client/parse-options.ts';
import { readPlatformDocument } from './platform-file.ts';
import { readPlatformConfig } from '../krm-functions/platform-config.ts';
import { PATTERNS, PlatformOptionsError, resolveOptions, type Pattern, type PlatformOptions, type PlatformSettings } from '../charts-ts/options.ts';
import { appObjects, platformApps } from '../charts-ts/platform.ts';
import { HELM_CHART_NAME, helmChartFiles, writeHelmChart } from '../charts-ts/helm-chart.ts';
import { AsyncActorSynthError } from '../charts-ts/async-actor.ts';
import { OTEL_BACKENDS, type OtelBackend } from '../charts-ts/otel-collector-chart.ts';
import { TRANSPORTS, type TransportName } from '../api/index.ts';
import { buildTools, parseToolsFile } from '../gateway/tools/index.ts';
import { errorText } from '../protocol/errors.ts';

export const SYNTH_SYNOPSIS = 'synth            Write the platform manifests (CRD, controller, gateway, crew, monitoring) for a deployment pattern';

const USAGE = `Usage: asya synth [--out <dir>] [--pattern minimal|standard|full|multi-cluster] [options]

Writes one YAML file per chart, named in apply order. Apply the CRD first (kubectl maps every kind
before it applies anything), then the directory:
  kubectl apply -f <dir>/00-asya-crd.k8s.yaml && kubectl apply -f <dir>

Patterns:
  minimal        CRD, namespace, controller, crew actors (the queue: --trial or your broker)
  standard       minimal + gateway (Deployment, Service, tools ConfigMap, migration Job) + PostgreSQL
  full           standard + Prometheus ServiceMonitors/PodMonitor and a Grafana dashboard
  multi-cluster  minimal for every --clusters name on one shared broker, in <out>/<cluster>/;
                 the first cluster also runs the gateway when --gateway-url is given

With --format helm, a Helm chart instead, in <dir>/asya (values for the image, replicas, resources,
nodeSelector, tolerations, affinity, imagePullSecrets, ServiceAccount annotations, a gateway Ingress):
  helm install asya <dir>/asya --namespace asya-system --create-namespace

Options:
  -o, --out <dir>              output directory (default: dist); its *.k8s.yaml files are replaced
  -f, --format yaml|helm       plain manifests (default) or a Helm chart in <dir>/asya
  -p, --pattern <name>         deployment pattern (default: minimal)
  -n, --namespace <ns>         platform namespace (default: asya-system)
      --image <image>          the asya image for controller, gateway, crew and sidecars (default: asya:<version>)
      --platform <file>        platform settings: an AsyaPlatform or ConfigMap functionConfig, as for the KRM functions
      --transport <name>       ${TRANSPORTS.join(', ')}: for the gateway and the crew (default: rabbitmq)
      --trial                  add a single-replica RabbitMQ and PostgreSQL with fixed passwords (NOT for production)
      --tools <file>           the gateway's tools YAML (docs/gateway.md), checked with the gateway's own parser
      --gateway-url <url>      where sidecars reach the gateway (default: its in-cluster Service)
      --gateway-token-secret <name>  Secret with the gateway's tokens: internal-token, and api-token,
                               client-tokens (name:token,...) and/or admin-token (required with a gateway)
      --gateway-open           run the gateway with every endpoint open instead (ASYA_GATEWAY_AUTH=none;
                               the default for --trial without a token Secret)
      --database-secret <name>[:<key>]  Secret with the PostgreSQL URL (default: asya-gateway-db:database-url)
      --watch-namespaces <a,b> namespaces the controller manages (default: all)
      --clusters <a,b,...>     cluster names for multi-cluster
      --crew-s3-bucket <name>  store crew results in S3 (--crew-s3-endpoint, --crew-s3-secret with access-key/secret-key)
      --crew-results-pvc <claim>  or on a ReadWriteMany PersistentVolumeClaim (one of the two is required, except with --trial)
      --crew-ephemeral-results or in the pod's /tmp: lost with the pod, not shared between replicas (the --trial default)
      --expand-crew            render the crew as plain workloads (no controller needed for them)
      --crew-fan-in-policy <wait-all|fail-fast|partial>  the fan-in crew actor's ASYA_FAN_IN_POLICY
      --crew-fan-in-timeout <duration>  its ASYA_FAN_IN_TIMEOUT (e.g. 10m)
      --crew-fan-in-database-secret <secret>[:<key>]  without a gateway: the Secret key (default database-url)
                               with the PostgreSQL URL where the fan-in keeps its state; without it there, the fan-in is left out
      --no-crew-fan-in         do not deploy the fan-in crew actor
      --monitoring-label <k=v> label the ServiceMonitors/PodMonitor for your Prometheus (e.g. release=prometheus); repeatable
      --prometheus-url <url>   the Prometheus that scrapes the sidecars: the console's actors page reads it
                               (ASYA_GATEWAY_PROMETHEUS_URL on the gateway)
      --otel-collector <jaeger|tempo>  full pattern: deploy an OpenTelemetry Collector forwarding every component's
                               spans to Jaeger or Tempo (the platform's otlpEndpoint then points at it)
      --otel-backend <host:port>  the backend's OTLP/gRPC address (default: jaeger-collector or tempo in observability)
      --network-policies       emit NetworkPolicies (actors, gateway, controller); the platform file's
                               networkPolicies gives the broker and API server addresses (docs/platform.md)
      --no-namespace           do not emit the Namespace object
  -h, --help                   show this help`;

/** A command line that cannot be understood: exit 2 with the usage. */
class SynthUsageError extends Error {}

const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function readPlatformFile(path: string): PlatformSettings {
  const read = readPlatformConfig(readPlatformDocument(path));
  if (!read.ok) throw new PlatformOptionsError(`${path}: ${read.results.map((r) => r.message).join('; ')}`);
  return read.config;
}

/** --network-policies turns them on; what they allow comes from the platform file's networkPolicies. */
function withNetworkPolicies(platform: PlatformSettings, enable: boolean | undefined): PlatformSettings {
  return enable ? { ...platform, networkPolicies: { ...platform.networkPolicies, enabled: true } } : platform;
}

function secretKey(value: string, defaultKey: string): { name: string; key: string } {
  const [name = '', key = defaultKey] = value.split(':');
  if (!name) throw new SynthUsageError(`expected <secret>[:<key>], got "${value}"`);
  return { name, key };
}

/**
 * The tools file goes into the gateway's ConfigMap as it is; checked here with the gateway's own parser, so a
 * file the gateway would refuse (and crash-loop on) fails the synth instead of the rollout.
 */
function checkedTools(path: string): string {
  const text = readFileSync(path, 'utf8');
  try {
    buildTools([parseToolsFile(path, text)], path);
  } catch (err) {
    throw new Error(`--tools ${path}: the gateway would refuse this file: ${errorText(err)}`);
  }
  return text;
}

const FORMATS = ['yaml', 'helm'] as const;
type SynthFormat = (typeof FORMATS)[number];

export function parseSynthArgs(args: string[]): { out: string; format: SynthFormat; options: PlatformOptions } | 'help' {
  const { values } = parseOptions({
    args,
    options: {
      out: { type: 'string', short: 'o' },
      format: { type: 'string', short: 'f' },
      pattern: { type: 'string', short: 'p' },
      namespace: { type: 'string', short: 'n' },
      image: { type: 'string' },
      platform: { type: 'string' },
      transport: { type: 'string' },
      trial: { type: 'boolean' },
      tools: { type: 'string' },
      'gateway-url': { type: 'string' },
      'gateway-token-secret': { type: 'string' },
      'gateway-open': { type: 'boolean' },
      'database-secret': { type: 'string' },
      'watch-namespaces': { type: 'string' },
      clusters: { type: 'string' },
      'crew-s3-bucket': { type: 'string' },
      'crew-s3-endpoint': { type: 'string' },
      'crew-s3-secret': { type: 'string' },
      'crew-results-pvc': { type: 'string' },
      'crew-ephemeral-results': { type: 'boolean' },
      'expand-crew': { type: 'boolean' },
      'crew-fan-in-policy': { type: 'string' },
      'crew-fan-in-timeout': { type: 'string' },
      'crew-fan-in-database-secret': { type: 'string' },
      'no-crew-fan-in': { type: 'boolean' },
      'monitoring-label': { type: 'string', multiple: true },
      'prometheus-url': { type: 'string' },
      'otel-collector': { type: 'string' },
      'otel-backend': { type: 'string' },
      'no-namespace': { type: 'boolean' },
      'network-policies': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const format = (values.format ?? 'yaml') as SynthFormat;
  if (!(FORMATS as readonly string[]).includes(format)) throw new SynthUsageError(`--format must be one of ${FORMATS.join(', ')}; got "${format}"`);
  const pattern = (values.pattern ?? 'minimal') as Pattern;
  if (!(PATTERNS as readonly string[]).includes(pattern)) throw new SynthUsageError(`--pattern must be one of ${PATTERNS.join(', ')}; got "${pattern}"`);
  const transport = (values.transport ?? 'rabbitmq') as TransportName;
  if (!(TRANSPORTS as readonly string[]).includes(transport)) throw new SynthUsageError(`--transport must be one of ${TRANSPORTS.join(', ')}; got "${transport}"`);
  const fanInPolicy = values['crew-fan-in-policy'];
  const fanInTimeout = values['crew-fan-in-timeout'];
  const fanInDatabase = values['crew-fan-in-database-secret'];
  if (values['no-crew-fan-in'] && (fanInPolicy || fanInTimeout || fanInDatabase)) {
    throw new SynthUsageError('--no-crew-fan-in leaves the fan-in actor out; its --crew-fan-in-policy/--crew-fan-in-timeout/--crew-fan-in-database-secret cannot apply');
  }
  const options: PlatformOptions = {
    pattern,
    transport,
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values.image ? { image: values.image } : {}),
    ...(values.platform || values['network-policies'] ? { platform: withNetworkPolicies(values.platform ? readPlatformFile(values.platform) : {}, values['network-policies']) } : {}),
    ...(values.trial ? { trial: true } : {}),
    ...(values['no-namespace'] ? { createNamespace: false } : {}),
    ...(values['watch-namespaces'] ? { watchNamespaces: list(values['watch-namespaces']) } : {}),
    ...(values.clusters ? { clusters: list(values.clusters) } : {}),
    gateway: {
      ...(values.tools ? { tools: checkedTools(values.tools) } : {}),
      ...(values['gateway-url'] ? { url: values['gateway-url'] } : {}),
      ...(values['gateway-token-secret'] ? { tokenSecret: values['gateway-token-secret'] } : {}),
      ...(values['gateway-open'] ? { open: true } : {}),
      ...(values['database-secret'] ? { databaseSecret: secretKey(values['database-secret'], 'database-url') } : {}),
    },
    crew: {
      ...(values['expand-crew'] ? { expand: true } : {}),
      ...(values['no-crew-fan-in'] ? { fanIn: false as const } : {}),
      ...(fanInPolicy || fanInTimeout || fanInDatabase
        ? {
            fanIn: {
              ...(fanInPolicy ? { policy: fanInPolicy } : {}),
              ...(fanInTimeout ? { timeout: fanInTimeout } : {}),
              ...(fanInDatabase ? { databaseSecret: secretKey(fanInDatabase, 'database-url') } : {}),
            },
          }
        : {}),
      ...(values['crew-results-pvc'] ? { resultsClaim: values['crew-results-pvc'] } : {}),
      ...(values['crew-ephemeral-results'] ? { ephemeralResults: true } : {}),
      ...(values['crew-s3-bucket']
        ? {
            s3: {
              bucket: values['crew-s3-bucket'],
              ...(values['crew-s3-endpoint'] ? { endpoint: values['crew-s3-endpoint'] } : {}),
              ...(values['crew-s3-secret'] ? { credentialsSecret: values['crew-s3-secret'] } : {}),
            },
          }
        : {}),
    },
  };
  const labels = (values['monitoring-label'] ?? []).map((pair) => {
    const [key = '', ...rest] = pair.split('=');
    if (!key || rest.length === 0) throw new SynthUsageError(`--monitoring-label expects key=value, got "${pair}"`);
    return [key, rest.join('=')] as const;
  });
  if (labels.length) options.monitoring = { labels: Object.fromEntries(labels) };
  if (values['prometheus-url']) options.monitoring = { ...options.monitoring, prometheusUrl: values['prometheus-url'] };
  if (values['otel-backend'] && !values['otel-collector']) throw new SynthUsageError('--otel-backend goes with --otel-collector jaeger|tempo');
  if (values['otel-collector']) {
    const backend = values['otel-collector'] as OtelBackend;
    if (!(OTEL_BACKENDS as readonly string[]).includes(backend)) throw new SynthUsageError(`--otel-collector must be one of ${OTEL_BACKENDS.join(', ')}; got "${backend}"`);
    options.otelCollector = { backend, ...(values['otel-backend'] ? { endpoint: values['otel-backend'] } : {}) };
  }
  return { out: values.out ?? 'dist', format, options };
}

/** Runs `asya synth`; answers the exit code (0 written, 1 bad settings, 2 usage). */
export async function runSynth(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseSynthArgs>;
  try {
    parsed = parseSynthArgs(args);
  } catch (err) {
    const usageError = err instanceof SynthUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`asya synth: ${errorText(err)}\n${usageError ? `\n${USAGE}\n` : ''}`);
    return usageError ? 2 : 1;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const apps = platformApps(parsed.options, parsed.out);
    const resolved = resolveOptions(parsed.options);
    for (const leftOut of new Set(resolved.flatMap((o) => (o.fanInLeftOut ? [o.fanInLeftOut] : [])))) process.stderr.write(`asya synth: note: ${leftOut}\n`);
    if (resolved.some((o) => o.gateway?.open)) {
      process.stderr.write('asya synth: WARNING: the gateway runs OPEN (ASYA_GATEWAY_AUTH=none): anyone who reaches its Service can call tools, read every result and forge final results; pass --gateway-token-secret for production\n');
    }
    if (parsed.format === 'helm') {
      for (const { app, options } of apps) {
        const dir = join(app.outdir, HELM_CHART_NAME);
        for (const file of writeHelmChart(dir, helmChartFiles(appObjects(app), options))) process.stdout.write(`${shortPath(join(dir, file))}\n`);
      }
      return 0;
    }
    for (const { app } of apps) {
      // Files of charts a previous run emitted but this pattern does not would otherwise be applied too.
      removeOldManifests(app.outdir);
      app.synth();
      for (const chart of app.charts) process.stdout.write(`${shortPath(join(app.outdir, `${chart.node.id}.k8s.yaml`))}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof PlatformOptionsError || err instanceof AsyncActorSynthError) {
      process.stderr.write(`asya synth: ${errorText(err)}\n`);
      return 1;
    }
    throw err;
  }
}

const shortPath = (path: string) => {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? resolve(path) : rel;
};

function removeOldManifests(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // nothing written there yet
  }
  for (const name of names) if (name.endsWith('.k8s.yaml')) rmSync(join(dir, name));
}
