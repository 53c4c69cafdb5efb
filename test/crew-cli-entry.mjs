// `asya crew ...` as its own process for test/crew-cli.test.ts, until cli/main.ts dispatches to runCrew.
import { register } from 'tsx/esm/api';

register();
const { runCrew } = await import('../cli/crew.ts');
await runCrew(process.argv.slice(2));
