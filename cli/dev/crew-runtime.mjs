// The crew's runtime under `asya dev`: `asya runtime`, deaf to SIGINT. Ctrl-C in a terminal reaches the whole
// process group, but dev mode's drain still needs the crew to finish the calls in the pipeline; it stops the
// crew itself afterwards, with SIGTERM.
import { register } from 'tsx/esm/api';

register();
const { runRuntime } = await import('../../runtime/node/main.ts');
await runRuntime();
process.removeAllListeners('SIGINT');
process.on('SIGINT', () => {});
