/**
 * The AsyncActor construct adds exactly what the KRM functions emit (inject-sidecar, then keda-scaler), as
 * ApiObjects; errors come back as one thrown error naming every field.
 */
import { readFileSync } from 'node:fs';
import { Chart, Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { injectSidecar } from '../krm-functions/inject-sidecar/transform.ts';
import { kedaScaler } from '../krm-functions/keda-scaler/transform.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { AsyncActor, AsyncActorSynthError, asyncActorResource, type AsyncActorProps } from './async-actor.ts';
import { asFunctionConfig, type PlatformSettings } from './options.ts';
import { errorText } from '../protocol/errors.ts';

const examples = new URL('../examples/hello/', import.meta.url);
const exampleActor = (file: string) => YAML.parse(readFileSync(new URL(`actors/${file}`, examples), 'utf8')) as KubeObject;
const examplePlatform = (YAML.parse(readFileSync(new URL('platform.yaml', examples), 'utf8')) as { spec: PlatformSettings }).spec;

function propsOf(actor: KubeObject, platform: PlatformSettings): AsyncActorProps {
  return { metadata: actor.metadata as AsyncActorProps['metadata'], spec: actor.spec as AsyncActorProps['spec'], platform };
}

/** The functions run as a kpt pipeline would, without the construct; only what would be applied. */
function pipeline(actors: KubeObject[], platform: PlatformSettings): KubeObject[] {
  const config = asFunctionConfig(platform);
  const out = kedaScaler(injectSidecar(actors, config).items, config);
  expect(out.results.filter((r) => r.severity === 'error')).toEqual([]);
  return out.items.filter((o) => o.metadata.annotations?.['config.kubernetes.io/local-config'] !== 'true');
}

const byKey = (objects: KubeObject[]) => [...objects].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));

describe('AsyncActor construct', () => {
  test('one actor: the same objects as the KRM functions, the AsyncActor left out', () => {
    const actor = exampleActor('normalize.yaml');
    const chart = new Chart(Testing.app(), 'app');
    const construct = new AsyncActor(chart, 'normalize', propsOf(actor, examplePlatform));
    const synthesized = Testing.synth(chart) as KubeObject[];
    const expected = pipeline([actor], examplePlatform);
    expect(byKey(synthesized)).toEqual(byKey(expected));
    expect(synthesized.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'ScaledObject', 'TriggerAuthentication']);
    expect(construct.objects).toEqual(expected);
  });

  test('several actors in one namespace share one runtime ConfigMap and one TriggerAuthentication, as in the pipeline', () => {
    const actors = ['normalize.yaml', 'sentiment.yaml', 'report.yaml'].map(exampleActor);
    const chart = new Chart(Testing.app(), 'app');
    for (const actor of actors) new AsyncActor(chart, actor.metadata.name, propsOf(actor, examplePlatform));
    const synthesized = Testing.synth(chart) as KubeObject[];
    expect(byKey(synthesized)).toEqual(byKey(pipeline(actors, examplePlatform)));
    expect(synthesized.filter((o) => o.kind === 'ConfigMap')).toHaveLength(1);
    expect(synthesized.filter((o) => o.kind === 'TriggerAuthentication')).toHaveLength(1);
  });

  test('keepAsyncActors emits the AsyncActor too, as the functions do', () => {
    const actor = exampleActor('report.yaml');
    const platform = { ...examplePlatform, keepAsyncActors: true };
    const chart = new Chart(Testing.app(), 'app');
    new AsyncActor(chart, 'report', propsOf(actor, platform));
    const synthesized = Testing.synth(chart) as KubeObject[];
    expect(synthesized.map((o) => o.kind)).toContain('AsyncActor');
    expect(byKey(synthesized)).toEqual(byKey(pipeline([actor], platform)));
  });

  test('the Job kind with scaling becomes a ScaledJob and no Job', () => {
    const props: AsyncActorProps = {
      metadata: { name: 'batch', namespace: 'jobs' },
      spec: {
        transport: 'rabbitmq',
        scaling: { enabled: true, maxReplicas: 3 },
        workload: { kind: 'Job', template: { spec: { containers: [{ name: 'asya-runtime', image: 'node:20', env: [{ name: 'ASYA_HANDLER', value: '/app/h.ts#run' }] }] } } },
      },
    };
    const chart = new Chart(Testing.app(), 'app');
    new AsyncActor(chart, 'batch', props);
    const synthesized = Testing.synth(chart) as KubeObject[];
    expect(synthesized.map((o) => o.kind)).toEqual(['ScaledJob']);
    expect(byKey(synthesized)).toEqual(byKey(pipeline([asyncActorResource(props)], {})));
  });

  test('an actor without a namespace takes the chart’s', () => {
    const chart = new Chart(Testing.app(), 'app', { namespace: 'team-a' });
    new AsyncActor(chart, 'normalize', propsOf(exampleActor('normalize.yaml'), examplePlatform));
    expect((Testing.synth(chart) as KubeObject[]).every((o) => o.metadata.namespace === 'team-a')).toBe(true);
  });

  test('an invalid spec throws one error naming every problem and its field', () => {
    const chart = new Chart(Testing.app(), 'app');
    const props: AsyncActorProps = {
      metadata: { name: 'broken' },
      spec: {
        transport: 'rabbitmq',
        scaling: { enabled: true, minReplicas: 5, maxReplicas: 2 },
        workload: { template: { spec: { containers: [{ name: 'app', image: 'x' }] } } },
      },
    };
    let error: unknown;
    try {
      new AsyncActor(chart, 'broken', props);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AsyncActorSynthError);
    const message = errorText(error);
    expect(message).toContain('AsyncActor broken');
    expect(message).toContain('spec.workload.template.spec.containers: must contain exactly one container named "asya-runtime"');
    expect(message).toContain('spec.scaling.minReplicas: minReplicas (5) must not exceed maxReplicas (2)');
    expect(Testing.synth(chart)).toEqual([]);
  });

  test('invalid platform settings throw too', () => {
    const chart = new Chart(Testing.app(), 'app');
    const platform = { transports: { sqs: { accountId: '12' } } } as PlatformSettings;
    expect(() => new AsyncActor(chart, 'normalize', propsOf(exampleActor('normalize.yaml'), platform))).toThrow(/transports\.sqs\.accountId: must be a 12-digit AWS account id/);
  });

  test('an SQS actor scaled without an account id is refused with the function’s message', () => {
    const actor = exampleActor('normalize.yaml');
    const chart = new Chart(Testing.app(), 'app');
    expect(() => new AsyncActor(chart, 'n', { ...propsOf(actor, {}), spec: { ...(actor.spec as AsyncActorProps['spec']), transport: 'sqs' } })).toThrow(
      /spec\.transport: transports\.sqs\.accountId is required/,
    );
  });

  test('two actors that would emit different shared objects in one namespace are refused', () => {
    const chart = new Chart(Testing.app(), 'app');
    new AsyncActor(chart, 'normalize', propsOf(exampleActor('normalize.yaml'), examplePlatform));
    const other = { ...examplePlatform, transports: { rabbitmq: { ...examplePlatform.transports!.rabbitmq, passwordSecretRef: { name: 'other', key: 'pw' } } } };
    expect(() => new AsyncActor(chart, 'sentiment', propsOf(exampleActor('sentiment.yaml'), other))).toThrow(/TriggerAuthentication asya-rabbitmq-trigger-auth is also emitted, differently/);
  });
});
