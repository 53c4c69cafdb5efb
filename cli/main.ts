/** The `asya` command: one subcommand per component. */
import { readFileSync } from 'node:fs';
import { didYouMean } from '../api/nearest-name.ts';
import { CliError } from './client/exit-codes.ts';

/** A command answers an exit code when it is done, or nothing when it keeps running (services, dev). */
type Run = (args: string[]) => Promise<number | void>;

interface Command {
  /** The line in `asya help`. */
  synopsis: string;
  run: Run;
  /** For commands that parse no options themselves: what `asya <command> --help` prints. */
  help?: string;
}

const commands: Record<string, Command> = {
  dev: {
    synopsis: 'dev <dir>        Run every AsyncActor under <dir>, the gateway and the crew on one machine; --demo runs <dir>/demo.yaml',
    run: async (args) => (await import('./dev.ts')).runDev(args),
  },
  call: {
    synopsis: 'call <tool> ...  Call a tool through the gateway, show its progress, print the result',
    run: async (args) => (await import('./call.ts')).runCall(args),
  },
  status: {
    synopsis: 'status <id>      Show an envelope (--wait: until it is final)',
    run: async (args) => (await import('./status.ts')).runStatus(args),
  },
  tools: {
    synopsis: 'tools            List the gateway\'s tools and their arguments',
    run: async (args) => (await import('./tools.ts')).runTools(args),
  },
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
  gateway: {
    synopsis: "gateway          Run the MCP/REST gateway; 'gateway migrate' applies the database migrations",
    run: async (args) => (await import('./gateway.ts')).runGateway(args),
  },
  crew: {
    synopsis: 'crew <role>      Run an end actor: happy-end (store results, report success) or error-end (retries, DLQ)',
    run: async (args) => (await import('./crew.ts')).runCrew(args),
  },
  dlq: {
    synopsis: "dlq <command>    Dead letters: 'dlq list', 'dlq show <id>', 'dlq replay <id>|--all'",
    run: async (args) => (await import('./dlq.ts')).runDlq(args),
  },
  controller: {
    synopsis: 'controller       Run the live AsyncActor controller (watch, apply, queues, status)',
    run: async () => (await import('./controller.ts')).runController(),
    help:
      'Usage: asya controller\n\nWatches AsyncActors and applies what inject-sidecar and keda-scaler compute (server-side apply, field manager\n' +
      'asya-controller), provisions queues, keeps status, prunes what is no longer desired. /metrics, /healthz and /readyz on\n' +
      'ASYA_METRICS_ADDR (:8080). Configured by environment variables: see docs/controller.md.',
  },
  synth: {
    synopsis: 'synth            Write the platform manifests (CRD, controller, gateway, crew, monitoring) for a deployment pattern',
    run: async (args) => (await import('./synth.ts')).runSynth(args),
  },
  render: {
    synopsis: 'render <dir>     Render the AsyncActors under <dir> into apply-ready YAML (stdout, or -o <dir> for kustomize/ArgoCD/Flux)',
    run: async (args) => (await import('./render.ts')).runRender(args),
  },
  krm: {
    synopsis: 'krm <function>   Run a KRM function (inject-sidecar, keda-scaler) for kpt, kustomize or a pipe',
    run: async (args) => (await import('./krm.ts')).runKrm(args),
  },
  migrate: {
    synopsis: 'migrate ...      Convert the original\'s settings: migrate operator-values <values.yaml> writes the platform settings',
    run: async (args) => (await import('./migrate.ts')).runMigrate(args),
  },
  crd: {
    synopsis: 'crd              Print the AsyncActor CustomResourceDefinition (asya crd | kubectl apply -f -)',
    run: async () => void process.stdout.write((await import('../api/crd.ts')).crdYaml()),
    help: 'Usage: asya crd\n\nPrints the asyncactors.asya.sh CRD generated from api/ (the same as api/crd/asyncactors.asya.sh.yaml).',
  },
  version: {
    synopsis: 'version          Print the version',
    run: async () => {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`asya ${pkg.version}\n`);
    },
    help: 'Usage: asya version',
  },
  help: {
    synopsis: 'help             Show this help',
    run: async () => void process.stdout.write(`${usage()}\n`),
    help: 'Usage: asya help',
  },
};

/** The flags every command line tool answers to. */
const ALIASES: Record<string, string> = { '--help': 'help', '-h': 'help', '--version': 'version', '-V': 'version' };

export function usage(): string {
  return `Usage: asya <command> [options]

Commands:
${Object.values(commands)
  .map((c) => `  ${c.synopsis}`)
  .join('\n')}

'asya <command> --help' describes a command; 'asya --version' prints the version. Environment variables configure every component; see docs/.`;
}

export async function main(argv: string[]): Promise<void> {
  const [name = 'help', ...rest] = argv;
  const command = commands[ALIASES[name] ?? name];
  if (!command) {
    process.stderr.write(`asya: unknown command '${name}'${didYouMean(name, Object.keys(commands))}\n\n${usage()}\n`);
    process.exit(2);
  }
  if (command.help && (rest[0] === '--help' || rest[0] === '-h')) {
    process.stdout.write(`${command.help}\n`);
    process.exit(0);
  }
  try {
    const code = await command.run(rest);
    if (typeof code === 'number') process.exit(code);
  } catch (err) {
    process.stderr.write(`asya ${name}: ${(err as Error).message}\n`);
    if ((await import('./settings.ts')).cliLogLevel(process.env) === 'DEBUG') process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(err instanceof CliError ? err.exitCode : 1);
  }
}
