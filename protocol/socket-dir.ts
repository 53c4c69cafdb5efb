/**
 * The files runtime and sidecar share in the socket directory (the original's names), and the probes that
 * read them. The KRM functions put these probes on the runtime container; the sidecar writes the restart
 * marker when a hung runtime must be replaced.
 */
export const SOCKET_NAME = 'asya-runtime.sock';
export const READY_FILE = 'runtime-ready';
export const RESTART_MARKER = 'runtime-restart-requested';

/** Ready: the socket exists and the runtime has written its ready file. */
export const READINESS_PROBE_SCRIPT = (dir: string) => `test -S ${dir}/${SOCKET_NAME} && test -f ${dir}/${READY_FILE}`;

/** Alive: ready, and the sidecar has not asked for a restart since the runtime last became ready. */
export const LIVENESS_PROBE_SCRIPT = (dir: string) => `${READINESS_PROBE_SCRIPT(dir)} && ! test ${dir}/${RESTART_MARKER} -nt ${dir}/${READY_FILE}`;
