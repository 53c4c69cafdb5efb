/**
 * `asya dev` killed with SIGKILL (or crashing) runs none of its cleanup, yet none of its children may stay
 * behind: the Python and Node runtimes of its actors and the crew's runtimes all watch the pipe dev mode hands
 * them (ASYA_PARENT_PIPE_FD) and exit once its end closes.
 */
import { afterAll, expect, test } from 'vitest';
import { copyExample, startDev } from './support/dev-process.ts';
import { commandLine, descendants, killAll, stillRunningAfter } from './support/process-tree.ts';

const example = copyExample('hello');
afterAll(() => example.cleanup());

test('every process asya dev started exits by itself once asya dev is SIGKILLed', async () => {
  const dev = await startDev(example.dir);
  const pid = dev.child.pid!;
  const children = descendants(pid);
  const commands = children.map(commandLine);
  try {
    // hello: two Python actors, one Node actor, and the crew's runtimes.
    expect(commands.filter((c) => c.includes('asya_runtime.py')), commands.join('\n')).toHaveLength(2);
    expect(commands.filter((c) => c.includes('bin/asya.js runtime')), commands.join('\n')).toHaveLength(1);
    expect(commands.filter((c) => c.includes('crew-runtime.mjs')).length, commands.join('\n')).toBeGreaterThan(0);

    process.kill(pid, 'SIGKILL');
    await dev.exited;
    // A bound for a loaded machine, not a timing claim: they notice at once.
    const left = await stillRunningAfter(children, 20_000);
    expect(left.map((p) => `${p} ${commandLine(p)}`)).toEqual([]);
  } finally {
    killAll(children);
  }
}, 180_000);
