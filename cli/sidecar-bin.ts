/**
 * Entry of the lean sidecar bundle (cli/build.ts, the Dockerfile's `sidecar` target): only the commands an
 * actor pod's sidecar and the crew run, so none of the gateway, controller, charts or dev code is inside.
 */
import { helpCommand, runCommands, SIDECAR_COMMANDS, type Command } from './command.ts';

const commands: Record<string, Command> = { ...SIDECAR_COMMANDS, help: helpCommand(() => commands) };

await runCommands(commands, process.argv.slice(2));
