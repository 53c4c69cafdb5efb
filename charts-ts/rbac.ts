/**
 * The controller's permissions, each rule with the reason it exists. Nothing is granted with `*`, and
 * nothing the controller does not do: it never creates or deletes AsyncActors (users do), never reads
 * Secrets (the broker password reaches it as an env var from a secretKeyRef; KEDA reads trigger secrets
 * itself), and holds its leader-election Lease only in its own namespace.
 */
import { k8s } from 'cdk8s-plus-33';

const READ = ['get', 'list', 'watch'];
/** Server-side apply is a PATCH, and a PATCH that creates the object also needs `create`; pruning deletes. */
const MANAGE = [...READ, 'create', 'patch', 'update', 'delete'];

export const CONTROLLER_RULES: k8s.PolicyRule[] = [
  // Watch the actors; patch/update to add and remove the finalizer asya.sh/finalizer.
  { apiGroups: ['asya.sh'], resources: ['asyncactors'], verbs: [...READ, 'patch', 'update'] },
  // Conditions, replica counts and the status string live in the status subresource.
  { apiGroups: ['asya.sh'], resources: ['asyncactors/status'], verbs: ['get', 'patch', 'update'] },
  // Owner references with blockOwnerDeletion need update on the owner's finalizers subresource
  // (OwnerReferencesPermissionEnforcement admission).
  { apiGroups: ['asya.sh'], resources: ['asyncactors/finalizers'], verbs: ['update'] },
  // The actor's workload, from inject-sidecar: Deployment or StatefulSet …
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: MANAGE },
  // … or Job (workload.kind Job without scaling).
  { apiGroups: ['batch'], resources: ['jobs'], verbs: MANAGE },
  // keda-scaler's output: ScaledObject, ScaledJob (kind Job) and the per-namespace TriggerAuthentication.
  { apiGroups: ['keda.sh'], resources: ['scaledobjects', 'scaledjobs', 'triggerauthentications'], verbs: MANAGE },
  // The per-namespace asya-runtime ConfigMap (Python actors), the IRSA ServiceAccount asya-<actor> (SQS),
  // and the headless Service of a StatefulSet actor.
  { apiGroups: [''], resources: ['configmaps', 'serviceaccounts', 'services'], verbs: MANAGE },
  // The actors' pods, read only: failingPods, pendingReplicas and the ImagePullError, RuntimeError, SidecarError,
  // PendingResources and VolumeError statuses come from their container statuses and conditions.
  { apiGroups: [''], resources: ['pods'], verbs: READ },
  // Events (events.k8s.io/v1) on AsyncActors for `kubectl describe` and `kubectl events`; a repeat patches the
  // first one's series count instead of creating another.
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

/** Leader election: a Role in the controller's namespace, so it cannot touch other Leases. */
export function leaderElectionRules(leaseName: string): k8s.PolicyRule[] {
  return [
    // A Lease cannot be restricted by name at creation time (the name is not known to RBAC yet) …
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    // … but every later read and renewal is limited to the controller's own Lease.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [leaseName], verbs: ['get', 'update', 'patch'] },
  ];
}
