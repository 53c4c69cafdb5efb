/** The `asya` command: one subcommand per component. */
import { readFileSync } from 'node:fs';

const USAGE = `Usage: asya <command> [options]

Commands:
  dev <dir>        Run every AsyncActor under <dir> in one process (in-memory transport); --demo sends <dir>/demo.yaml
  sidecar          Run the sidecar for ASYA_ACTOR_NAME in front of a runtime socket
  runtime          Serve a JS/TS handler on the runtime socket (ASYA_HANDLER=<file>#<export>)
  gateway          Run the MCP/REST gateway; 'gateway migrate' applies the database migrations
  crew <role>      Run an end actor: happy-end (store results, report success) or error-end (retries, DLQ)
  dlq <command>    Dead letters: 'dlq list', 'dlq show <id>', 'dlq replay <id>|--all'
  version          Print the version
  help             Show this help

Environment variables configure every component; see docs/ for the full list.`;

type Command = (args: string[]) => Promise<void>;

const commands: Record<string, Command> = {
  dev: async (args) => (await import('./dev.ts')).runDev(args),
  sidecar: async () => (await import('./sidecar.ts')).runSidecar(),
  gateway: async (args) => (await import('./gateway.ts')).runGateway(args),
  crew: async (args) => (await import('./crew.ts')).runCrew(args),
  dlq: async (args) => (await import('./dlq.ts')).runDlq(args),
  runtime: async () => (await import('../runtime/node/main.ts')).runRuntime(),
  version: async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`asya ${pkg.version}\n`);
  },
  help: async () => {
    process.stdout.write(`${USAGE}\n`);
  },
};

export async function main(argv: string[]): Promise<void> {
  const [name = 'help', ...rest] = argv;
  const command = commands[name === '--help' || name === '-h' ? 'help' : name];
  if (!command) {
    process.stderr.write(`asya: unknown command '${name}'\n\n${USAGE}\n`);
    process.exit(2);
  }
  try {
    await command(rest);
  } catch (err) {
    process.stderr.write(`asya ${name}: ${(err as Error).message}\n`);
    if (process.env.ASYA_LOG_LEVEL?.toUpperCase() === 'DEBUG') process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  }
}
