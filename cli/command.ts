/**
 * The command runner shared by the `asya` CLI (cli/main.ts) and the lean sidecar bundle (cli/sidecar-bin.ts),
 * and the commands a sidecar image runs: `sidecar`, `crew`, `runtime`, `version`. Each command is imported
 * only when it runs, so a bundle whose map leaves a command out leaves its code and dependencies out too.
 */
import { readFileSync } from 'node:fs';
import { didYouMean } from '../api/nearest-name.ts';
import { CliError } from './client/exit-codes.ts';
import { followNpm } from './follow-npm.ts';
import { asError, errorText } from '../protocol/errors.ts';
import { jsonProcessLog } from '../protocol/process-log.ts';

/** A command answers an exit code when it is done, or nothing when it keeps running (services, dev). */
type Run = (args: string[]) => Promise<number | void>;

export interface Command {
  /** The line in `asya help`. */
  synopsis: string;
  run: Run;
  /** For commands that parse no options themselves: what `asya <command> --help` prints. */
  help?: string;
}

export const SIDECAR_COMMANDS = {
  sidecar: {
    synopsis: 'sidecar          Run the sidecar for ASYA_ACTOR_NAME in front of a runtime socket',
    run: async () => (await import('./sidecar.ts')).runSidecar(),
    help: 'Usage: asya sidecar\n\nConsumes asya-<ASYA_ACTOR_NAME>, calls the runtime on ASYA_SOCKET_DIR, routes the results; drains on SIGTERM.\nConfigured by environment variables only: see docs/sidecar.md.',
  },
  runtime: {
    synopsis: 'runtime          Serve a JS/TS handler on the runtime socket (ASYA_HANDLER=<file>#<export>)',
    run: async () => (await import('../runtime/node/main.ts')).runRuntime(),
    help: 'Usage: asya runtime\n\nServes ASYA_HANDLER=<file>#<export> on ASYA_SOCKET_DIR/asya-runtime.sock for the sidecar.\nConfigured by environment variables only: see docs/runtimes.md.',
  },
  crew: {
    synopsis: 'crew <role>      Run an end actor: happy-end (store results, report success) or error-end (retries, DLQ)',
    run: async (args) => (await import('./crew.ts')).runCrew(args),
  },
  version: {
    synopsis: 'version          Print the version',
    run: async () => {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`asya ${pkg.version}\n`);
    },
    help: 'Usage: asya version',
  },
} satisfies Record<string, Command>;

export function helpCommand(commands: () => Record<string, Command>): Command {
  return {
    synopsis: 'help             Show this help',
    run: async () => void process.stdout.write(`${usageOf(commands())}\n`),
    help: 'Usage: asya help',
  };
}

/** The flags every command line tool answers to. */
const ALIASES: Record<string, string> = { '--help': 'help', '-h': 'help', '--version': 'version', '-V': 'version' };

export function usageOf(commands: Record<string, Command>): string {
  return `Usage: asya <command> [options]

Commands:
${Object.values(commands)
  .map((c) => `  ${c.synopsis}`)
  .join('\n')}

'asya <command> --help' describes a command; 'asya --version' prints the version. Environment variables configure every component; see docs/.`;
}

export async function runCommands(commands: Record<string, Command>, argv: string[]): Promise<void> {
  const [name = 'help', ...rest] = argv;
  const command = commands[ALIASES[name] ?? name];
  if (!command) {
    process.stderr.write(`asya: unknown command '${name}'${didYouMean(name, Object.keys(commands))}\n\n${usageOf(commands)}\n`);
    process.exit(2);
  }
  if (command.help && (rest[0] === '--help' || rest[0] === '-h')) {
    process.stdout.write(`${command.help}\n`);
    process.exit(0);
  }
  const jsonLog = jsonProcessLog(`asya.${name}`, process.env);
  followNpm((line) => (jsonLog ? jsonLog.warn(line) : process.stderr.write(`asya ${name}: ${line}\n`)));
  try {
    const code = await command.run(rest);
    if (typeof code === 'number') process.exit(code);
  } catch (err) {
    const debug = (await import('./settings.ts')).cliLogLevel(process.env) === 'DEBUG';
    if (jsonLog) jsonLog.error(errorText(err), debug ? { stack: asError(err).stack } : undefined);
    else {
      process.stderr.write(`asya ${name}: ${errorText(err)}\n`);
      if (debug) process.stderr.write(`${asError(err).stack}\n`);
    }
    process.exit(err instanceof CliError ? err.exitCode : 1);
  }
}
