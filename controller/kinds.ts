/**
 * Every kind the controller watches, declared once: the watches, the caches, pruning and the RBAC rules
 * (charts-ts/rbac.ts) derive from this table.
 */
import { API_GROUP, API_VERSION, KIND } from '../api/index.ts';
import { PLURAL } from './kube.ts';

export interface WatchedKind {
  apiVersion: string;
  kind: string;
  plural: string;
  /** What the controller does with it. owned: made per actor and pruned; shared: made for several actors; observed: only read. */
  role: 'actor' | 'owned' | 'shared' | 'observed';
  /** Only list and watch objects with these labels (the API server filters). */
  labelSelector?: string;
  /** May not be served (KEDA not installed): an absent kind is an empty cache, not an error. */
  optional?: boolean;
  /** A workload: its status changes update the actor's status. */
  workload?: boolean;
}

/** Everything inject-sidecar and keda-scaler generate carries this label. */
export const GENERATED_SELECTOR = 'app.kubernetes.io/part-of=asya';
/** The label on the pods of an actor (inject-sidecar's selectorLabels). */
export const POD_ACTOR_LABEL = 'asya.sh/asya';
/** The label naming the actor an object was made for. */
export const OWNER_LABEL = 'app.kubernetes.io/name';

const generated = (apiVersion: string, kind: string, plural: string, role: 'owned' | 'shared', extra: Partial<WatchedKind> = {}): WatchedKind => ({
  apiVersion,
  kind,
  plural,
  role,
  labelSelector: GENERATED_SELECTOR,
  ...extra,
});

export const WATCHED_KINDS: readonly WatchedKind[] = [
  { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, plural: PLURAL, role: 'actor' },
  generated('apps/v1', 'Deployment', 'deployments', 'owned', { workload: true }),
  generated('apps/v1', 'StatefulSet', 'statefulsets', 'owned', { workload: true }),
  generated('batch/v1', 'Job', 'jobs', 'owned', { workload: true }),
  generated('v1', 'Service', 'services', 'owned'),
  generated('v1', 'ServiceAccount', 'serviceaccounts', 'owned'),
  generated('keda.sh/v1alpha1', 'ScaledObject', 'scaledobjects', 'owned', { optional: true }),
  generated('keda.sh/v1alpha1', 'ScaledJob', 'scaledjobs', 'owned', { optional: true }),
  generated('v1', 'ConfigMap', 'configmaps', 'shared'),
  generated('keda.sh/v1alpha1', 'TriggerAuthentication', 'triggerauthentications', 'shared', { optional: true }),
  { apiVersion: 'v1', kind: 'Pod', plural: 'pods', role: 'observed', labelSelector: POD_ACTOR_LABEL },
];

/** Kinds an actor can own, for pruning: what the functions may emit per actor. */
export const OWNED_KINDS = WATCHED_KINDS.filter((k) => k.role === 'owned');

export const KIND_ACTOR = WATCHED_KINDS.find((k) => k.role === 'actor')!;
