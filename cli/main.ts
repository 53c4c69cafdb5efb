/** The `asya` command: one subcommand per component. */
import { helpCommand, runCommands, SIDECAR_COMMANDS, usageOf, type Command } from './command.ts';

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
  resume: {
    synopsis: 'resume <id>      Answer a paused envelope (--input json|@file) so its pipeline goes on',
    run: async (args) => (await import('./resume.ts')).runResume(args),
  },
  tools: {
    synopsis: 'tools            List the gateway\'s tools and their arguments',
    run: async (args) => (await import('./tools.ts')).runTools(args),
  },
  sidecar: SIDECAR_COMMANDS.sidecar,
  runtime: SIDECAR_COMMANDS.runtime,
  gateway: {
    synopsis: "gateway          Run the MCP/REST gateway; 'gateway migrate' applies the database migrations",
    run: async (args) => (await import('./gateway.ts')).runGateway(args),
  },
  crew: SIDECAR_COMMANDS.crew,
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
  version: SIDECAR_COMMANDS.version,
  help: helpCommand(() => commands),
};

export const usage = (): string => usageOf(commands);

export const main = (argv: string[]): Promise<void> => runCommands(commands, argv);
