/**
 * `npx asya ...` and `npm run <script>` start asya through `sh -c` under npm. When npm is stopped (`timeout`, a
 * process manager, an editor's stop button), it passes the signal to that shell, and the shell dies without
 * passing it on: asya would run on as an orphan, holding its port and its store's lock. So a process whose
 * nearest ancestor that is not a shell is npm stops, as on SIGTERM, once that npm has ended.
 *
 * Reads /proc, so Linux only; elsewhere, and for a process npm did not start, nothing is watched.
 */
import { basename } from 'node:path';
import { hasEnded, processArgv, processStat } from './process-stat.ts';

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'busybox']);
/** Shells between npm and asya: npm's own `sh -c`, and perhaps a script's. */
const MAX_SHELLS = 3;
const CHECK_EVERY_MS = 1000;

/** npm sets its process title ("npm exec asya dev .", "npm run dev"), which shows in place of its arguments. */
function isNpm(argv: readonly string[]): boolean {
  if (/^np[mx]( |$)/.test(argv[0] ?? '')) return true;
  return argv.slice(0, 2).some((arg) => /^np[mx](-cli\.js)?$/.test(basename(arg)));
}

/** The npm process that started `pid` through nothing but shells, if one did. */
export function npmAncestor(pid: number = process.pid): { pid: number; startedAt: string } | undefined {
  let current = processStat(pid)?.parent;
  for (let shells = 0; current !== undefined && current > 1 && shells <= MAX_SHELLS; shells++) {
    const argv = processArgv(current);
    const entry = processStat(current);
    if (!entry) return undefined;
    if (isNpm(argv)) return { pid: current, startedAt: entry.startedAt };
    if (!SHELLS.has(basename(argv[0] ?? ''))) return undefined;
    current = entry.parent;
  }
  return undefined;
}

/**
 * Sends this process SIGTERM, which every long-running command drains on, once the npm that started it ended,
 * unless a stop signal reached it first. Ctrl-C in a terminal signals npm, its shell and asya at once; npm
 * waits for asya then, but should it end before asya's drain does, a SIGTERM would be a second signal, which
 * ends a drain at once.
 */
export function followNpm(say: (line: string) => void): void {
  if (process.platform !== 'linux' || process.env.npm_command === undefined) return;
  const npm = npmAncestor();
  if (!npm) return;
  const signalled = noticeStopSignals();
  const timer = setInterval(() => {
    const now = processStat(npm.pid);
    if (!hasEnded(now) && now!.startedAt === npm.startedAt) return;
    clearInterval(timer);
    if (signalled()) return;
    say(`npm (pid ${npm.pid}), which started this asya, has ended: stopping as on SIGTERM`);
    process.kill(process.pid, 'SIGTERM');
  }, CHECK_EVERY_MS);
  // Watching must not keep a command that is done from exiting.
  timer.unref();
}

/**
 * Whether SIGINT or SIGTERM has reached this process, seen without changing what they do. A listener takes
 * a signal's default (the process ends) away, so when this one is the only listener left, it steps aside and
 * raises the signal again: a command without handlers still ends, and one whose `once` handler has run still
 * ends on the next signal.
 */
export function noticeStopSignals(): () => boolean {
  let seen = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const notice = () => {
      seen = true;
      if (process.listenerCount(signal) > 1) return;
      process.removeListener(signal, notice);
      process.kill(process.pid, signal);
    };
    process.on(signal, notice);
  }
  return () => seen;
}
