/**
 * The restricted Pod Security Standard, applied to every container the charts write: non-root, a read-only
 * root filesystem, no privilege escalation, no capabilities, the runtime's default seccomp profile. Writable
 * paths are emptyDir volumes the charts mount explicitly.
 */
import { k8s } from 'cdk8s-plus-33';
import { ASYA_UID, restrictedContainerSecurity } from '../krm-functions/security.ts';

export { ASYA_UID };

export function podSecurity(uid = ASYA_UID): k8s.PodSecurityContext {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } };
}

export function containerSecurity(uid = ASYA_UID): k8s.SecurityContext {
  return restrictedContainerSecurity(uid);
}

/** Plain-object forms, for pod templates that are not L1 classes (the crew's AsyncActor spec). */
export const plainPodSecurity = (uid = ASYA_UID) => ({ ...podSecurity(uid) }) as Record<string, unknown>;
export const plainContainerSecurity = (uid = ASYA_UID) => ({ ...containerSecurity(uid) }) as Record<string, unknown>;

export interface ResourceSpec {
  cpu: [request: string, limit: string];
  memory: [request: string, limit: string];
}

export function resources(spec: ResourceSpec): k8s.ResourceRequirements {
  const q = k8s.Quantity.fromString;
  return {
    requests: { cpu: q(spec.cpu[0]), memory: q(spec.memory[0]) },
    limits: { cpu: q(spec.cpu[1]), memory: q(spec.memory[1]) },
  };
}

export function plainResources(spec: ResourceSpec): Record<string, unknown> {
  return { requests: { cpu: spec.cpu[0], memory: spec.memory[0] }, limits: { cpu: spec.cpu[1], memory: spec.memory[1] } };
}

export const tmpVolume: k8s.Volume = { name: 'tmp', emptyDir: {} };
export const tmpMount: k8s.VolumeMount = { name: 'tmp', mountPath: '/tmp' };
