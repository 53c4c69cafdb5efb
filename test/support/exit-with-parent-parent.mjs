// A parent process for runtime/exit-with-parent.test.ts, to be SIGKILLed: starts the runtime named by argv
// (with the parent pipe when ASYA_TEST_OPT_IN=1, as asya dev does), prints its pid and waits.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const { holdParentPipe, parentPipeSpawn } = await import('../../protocol/parent-pipe.ts');
const [log, cmd, ...args] = process.argv.slice(2);
// The runtime's output to a file: a pipe to this parent would break when the test kills it.
const out = openSync(log, 'a');
const { stdio, env } = parentPipeSpawn(['ignore', out, out], process.env, process.env.ASYA_TEST_OPT_IN === '1');
const child = spawn(cmd, args, { stdio, env });
holdParentPipe(child.stdio[3]);
process.stdout.write(`${child.pid}\n`);
setInterval(() => {}, 60_000);
