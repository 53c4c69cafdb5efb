/**
 * The crew (CREW_ROLES: happy-end, error-end and the fan-in route step) as AsyncActors whose runtime is the Node runtime serving the crew
 * handlers from the asya image (docs/crew.md). By default they are AsyncActor objects for the controller;
 * with `crew.expand` they go through the AsyncActor construct and come out as plain workloads, for a
 * cluster that runs no controller.
 */
import { ApiObject, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { CREW_CONCURRENCY, CREW_ROLES, type CrewRole } from '../protocol/crew.ts';
import { FAN_IN_ACTOR } from '../protocol/fan-in.ts';
import { CREW_SETTINGS } from '../crew/settings.ts';
import { crewHandler } from '../krm-functions/inject-sidecar/original-crew.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { transportEnv } from '../krm-functions/transport-env.ts';
import { RUNTIME_SETTINGS } from '../runtime/settings.ts';
import { envName, toEnv } from '../settings/index.ts';
import { SIDECAR_SETTINGS } from '../sidecar/settings.ts';
import { TELEMETRY_SETTINGS } from '../telemetry/settings.ts';
import { AsyncActor, asyncActorResource, type AsyncActorProps } from './async-actor.ts';
import { platformLabels } from './labels.ts';
import type { ResolvedOptions } from './options.ts';
import { plainContainerSecurity, plainPodSecurity, plainResources } from './security.ts';

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

/**
 * fan-in is not one of the end actors inject-sidecar recognises by name, so its props say what the other two
 * get from there: the sidecar in end-actor mode and a runtime that passes whole envelopes unvalidated.
 * Without a gateway its runtime keeps the state in its own PostgreSQL and publishes the combined envelope
 * itself, so it gets the database URL and the broker's settings as a sidecar would.
 */
function fanInEnv(role: CrewRole, options: ResolvedOptions): { runtime: Env[]; sidecar: Env[] } {
  if (role !== FAN_IN_ACTOR || options.fanIn === false) return { runtime: [], sidecar: [] };
  const database = options.fanInDatabase;
  return {
    runtime: [
      ...toEnv(RUNTIME_SETTINGS, { validate: false }),
      ...toEnv(CREW_SETTINGS, options.fanIn),
      ...(database
        ? [
            { name: envName(CREW_SETTINGS, 'fanInDatabaseUrl'), valueFrom: { secretKeyRef: { name: database.name, key: database.key } } },
            ...transportEnv(options.transport, options.platform),
          ]
        : []),
    ],
    sidecar: toEnv(SIDECAR_SETTINGS, { isEndActor: true }),
  };
}

/** The crew actors this platform deploys: all of CREW_ROLES, fan-in unless `crew.fanIn` is false. */
export function deployedCrewRoles(options: ResolvedOptions): CrewRole[] {
  return CREW_ROLES.filter((role) => role !== FAN_IN_ACTOR || options.fanIn !== false);
}

/** The crew actor's props, shared by the AsyncActor object and the construct. */
export function crewActorProps(role: CrewRole, options: ResolvedOptions): AsyncActorProps {
  const { gatewayUrl, gatewayTokenSecretRef, otlpEndpoint } = options.platform;
  const claim = options.crew.resultsClaim;
  const fanIn = fanInEnv(role, options);
  const env: Env[] = [
    // The crew reads whole envelopes; inject-sidecar adds ASYA_ENABLE_VALIDATION=false for end actors.
    ...toEnv(RUNTIME_SETTINGS, { handler: crewHandler(role), mode: 'envelope' }),
    // The crew handlers report finals themselves, so the runtime needs the gateway as much as the sidecar.
    ...toEnv(CREW_SETTINGS, { gatewayUrl: gatewayUrl || undefined }),
    ...(gatewayTokenSecretRef ? [{ name: envName(CREW_SETTINGS, 'gatewayToken'), valueFrom: { secretKeyRef: { ...gatewayTokenSecretRef } } }] : []),
    ...storageEnv(options),
    // The crew's handlers run in the runtime container and export their own spans (its sidecar gets the
    // endpoint from inject-sidecar, as every sidecar does).
    ...toEnv(TELEMETRY_SETTINGS, { endpoint: otlpEndpoint || undefined }),
    ...fanIn.runtime,
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
        env: [...toEnv(SIDECAR_SETTINGS, { concurrency: CREW_CONCURRENCY }), ...fanIn.sidecar],
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
    for (const role of deployedCrewRoles(options)) {
      if (options.crew.expand) new AsyncActor(this, role, crewActorProps(role, options));
      else new ApiObject(this, role, crewActor(role, options));
    }
  }
}
