/**
 * The restricted Pod Security Standard for a container: non-root, read-only root filesystem, no privilege
 * escalation, no capabilities, the runtime's default seccomp profile. The injected sidecar and every
 * container of the platform charts use it.
 */

/** The uid and gid of the asya image (Dockerfile `USER 1000:1000`). */
export const ASYA_UID = 1000;

export function restrictedContainerSecurity(uid = ASYA_UID) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
