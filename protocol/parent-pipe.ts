/**
 * A child of `asya dev` must not outlive it, even when dev mode is killed with SIGKILL or crashes and runs no
 * cleanup. The parent hands each child one end of a pipe as an extra file descriptor and names it in
 * ASYA_PARENT_PIPE_FD; the parent never writes to it, and the kernel closes its end whatever way the parent
 * dies, so the child reads end of file at once and exits.
 *
 * Why a pipe and not polling the parent pid (process.ppid / os.getppid() changing to 1 or a subreaper): EOF is
 * immediate and costs no timer; it needs no pid bookkeeping; and both runtimes can wait for it with the standard
 * library alone (a net.Socket on the fd in Node, a daemon thread blocked in os.read in Python). Linux's
 * PR_SET_PDEATHSIG would need native code in Node, and it fires on the death of the spawning thread, not process.
 *
 * Opt-in: without the variable (a pod, the original sidecar) a runtime watches nothing and behaves as before.
 */
import { Socket } from 'node:net';
import { PARENT_PIPE_FD_SETTING } from './settings.ts';

/** The first descriptor after stdin, stdout and stderr. */
export const PARENT_PIPE_FD = 3;

type Env = Record<string, string | undefined>;
// A number: a descriptor of the parent's, such as a log file.
type Stdio = 'ignore' | 'inherit' | 'pipe' | number;

/**
 * What a parent passes to spawn so its child exits with it: the child's stdio with the pipe at
 * PARENT_PIPE_FD, and its env naming it. Not `enabled`: both as given.
 */
export function parentPipeSpawn(stdio: readonly [Stdio, Stdio, Stdio], env: Env, enabled = true): { stdio: Stdio[]; env: Env } {
  if (!enabled) return { stdio: [...stdio], env };
  return { stdio: [...stdio, 'pipe'], env: { ...env, [PARENT_PIPE_FD_SETTING.options.env]: String(PARENT_PIPE_FD) } };
}

/**
 * The parent's end, once the child is spawned: it must neither keep the parent alive nor throw when the child
 * is gone; it closes with the parent, which is the whole point. Read (nothing ever comes) so that it ends
 * when the child exits, and the child's 'close' event is not held up by it.
 */
export function holdParentPipe(end: unknown): void {
  if (!(end instanceof Socket)) return;
  end.on('error', () => {}).resume().unref();
}

/**
 * The child's side: exits (without finishing anything: nobody is left to read its answers) once the parent's end
 * closes. `fd` undefined: not started with the opt-in, nothing to watch.
 */
export function exitWithParent(fd: number | undefined): void {
  if (fd === undefined) return;
  const exit = () => process.exit(0);
  const pipe = new Socket({ fd, readable: true, writable: false });
  // Reading is what notices the end; the pipe must not keep the runtime alive after its server closed.
  pipe.on('end', exit).on('close', exit).on('error', exit).resume().unref();
}
