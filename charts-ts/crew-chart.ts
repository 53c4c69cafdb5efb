/**
 * The crew: happy-end and error-end as AsyncActors whose runtime is the Node runtime serving the crew
 * handlers from the asya image (docs/crew.md). By default they are AsyncActor objects for the controller;
 * with `crew.expand` they go through the AsyncActor construct and come out as plain workloads, for a
 * cluster that runs no controller.
 */
import { ApiObject, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { CREW_CONCURRENCY } from '../protocol/crew.ts';
import { ERROR_END, HAPPY_END } from '../protocol/queues.ts';
import { CREW_SETTINGS } from '../crew/settings.ts';
import { crewHandler } from '../krm-functions/inject-sidecar/original-crew.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { RUNTIME_SETTINGS } from '../runtime/settings.ts';
import { envName, toEnv } from '../settings/index.ts';
import { SIDECAR_SETTINGS } from '../sidecar/settings.ts';
import { AsyncActor, asyncActorResource, type AsyncActorProps } from './async-actor.ts';
import { platformLabels } from './labels.ts';
import type { ResolvedOptions } from './options.ts';
import { plainContainerSecurity, plainPodSecurity, plainResources } from './security.ts';

export type CrewRole = typeof HAPPY_END | typeof ERROR_END;
export const CREW_ROLES: readonly CrewRole[] = [HAPPY_END, ERROR_END];
/** With `crew.ephemeralResults`: the pod's /tmp emptyDir (lost when the pod goes). */
const EPHEMERAL_RESULTS_DIR = '/tmp/asya-results';
/** With `crew.resultsClaim`: where the claim is mounted. */
export const CREW_RESULTS_MOUNT = '/var/lib/asya/results';
const RESULTS_VOLUME = 'crew-results';

type Env = { name: string; value?: string; valueFrom?: Record<string, unknown> };

function storageEnv(options: ResolvedOptions): Env[] {
  const s3 = options.crew.s3;
  if (options.crew.resultsClaim) return toEnv(CREW_SETTINGS, { resultsDir: CREW_RESULTS_MOUNT });
  if (!s3) return toEnv(CREW_SETTINGS, { resultsDir: EPHEMERAL_RESULTS_DIR });
  const fromSecret = (setting: 's3AccessKey' | 's3SecretKey', key: string): Env => ({
    name: envName(CREW_SETTINGS, setting),
    valueFrom: { secretKeyRef: { name: s3.credentialsSecret, key } },
  });
  return [
    ...toEnv(CREW_SETTINGS, { s3Bucket: s3.bucket, s3Endpoint: s3.endpoint, awsRegion: s3.region || undefined }),
    ...(s3.credentialsSecret ? [fromSecret('s3AccessKey', 'access-key'), fromSecret('s3SecretKey', 'secret-key')] : []),
  ];
}

/** The crew actor's props, shared by the AsyncActor object and the construct. */
export function crewActorProps(role: CrewRole, options: ResolvedOptions): AsyncActorProps {
  const { gatewayUrl, gatewayTokenSecretRef } = options.platform;
  const claim = options.crew.resultsClaim;
  const env: Env[] = [
    // The crew reads whole envelopes; inject-sidecar adds ASYA_ENABLE_VALIDATION=false for end actors.
    ...toEnv(RUNTIME_SETTINGS, { handler: crewHandler(role), mode: 'envelope' }),
    // The crew handlers report finals themselves, so the runtime needs the gateway as much as the sidecar.
    ...toEnv(CREW_SETTINGS, { gatewayUrl: gatewayUrl || undefined }),
    ...(gatewayTokenSecretRef ? [{ name: envName(CREW_SETTINGS, 'gatewayToken'), valueFrom: { secretKeyRef: { ...gatewayTokenSecretRef } } }] : []),
    ...storageEnv(options),
  ];
  return {
    metadata: {
      name: role,
      namespace: options.namespace,
      labels: platformLabels(role, 'crew'),
      // ArgoCD dry-runs a whole sync first; without this the first sync fails before the CRD exists.
      annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' },
    },
    platform: options.platform,
    spec: {
      transport: options.transport,
      sidecar: {
        resources: plainResources({ cpu: ['50m', '500m'], memory: ['64Mi', '256Mi'] }),
        env: toEnv(SIDECAR_SETTINGS, { concurrency: CREW_CONCURRENCY }),
      },
      // One replica always listens, so finals are stored and reported without a cold start (the original
      // crew chart's minimum); another joins per CREW_CONCURRENCY messages waiting or in flight.
      scaling: { enabled: true, minReplicas: 1, maxReplicas: 10, queueLength: CREW_CONCURRENCY },
      workload: {
        kind: 'Deployment',
        template: {
          spec: {
            automountServiceAccountToken: false,
            securityContext: plainPodSecurity(),
            ...(claim ? { volumes: [{ name: RESULTS_VOLUME, persistentVolumeClaim: { claimName: claim } }] } : {}),
            containers: [
              {
                name: 'asya-runtime',
                image: options.image,
                imagePullPolicy: options.imagePullPolicy,
                env,
                ...(claim ? { volumeMounts: [{ name: RESULTS_VOLUME, mountPath: CREW_RESULTS_MOUNT }] } : {}),
                resources: plainResources({ cpu: ['50m', '500m'], memory: ['128Mi', '512Mi'] }),
                securityContext: plainContainerSecurity(),
              },
            ],
          },
        },
      },
    },
  };
}

export function crewActor(role: CrewRole, options: ResolvedOptions): KubeObject {
  return asyncActorResource(crewActorProps(role, options));
}

export class CrewChart extends Chart {
  constructor(scope: Construct, id: string, options: ResolvedOptions) {
    super(scope, id);
    for (const role of CREW_ROLES) {
      if (options.crew.expand) new AsyncActor(this, role, crewActorProps(role, options));
      else new ApiObject(this, role, crewActor(role, options));
    }
  }
}
