// The crew's runtime under `asya dev`: `asya runtime`, deaf to SIGINT. Ctrl-C in a terminal reaches the whole
// process group, but dev mode's drain still needs the crew to finish the calls in the pipeline; it stops the
// crew itself afterwards, with SIGTERM.
import { register } from 'tsx/esm/api';

register();
const { runRuntime } = await import('../../runtime/node/main.ts');
// Not started through the asya command, so it routes its own process output (ASYA_LOG_FORMAT=json) itself.
(await import('../../protocol/process-log.ts')).jsonProcessLog('asya.runtime', process.env);
await runRuntime();
process.removeAllListeners('SIGINT');
process.on('SIGINT', () => {});
