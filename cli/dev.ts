/**
 * `asya dev <dir>`: the whole pipeline on one machine (cli/dev/stack.ts), a live table of the actors, handler
 * edits picked up, and a drain on Ctrl-C. With --demo it makes the calls in <dir>/demo.yaml through MCP and
 * exits 0 when each ended as the file expects.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseOptions } from './client/parse-options.ts';
import { fromEnv, pickSettings } from '../settings/index.ts';
import { CliError, EXIT } from './client/exit-codes.ts';
import { readDemoFile } from './dev/demo-file.ts';
import { runDemo } from './dev/demo.ts';
import { startDevStack, TRANSPORT_KINDS, type DevStack, type TransportKind } from './dev/stack.ts';
import { boardLogger, statusBoard, type StatusBoard } from './dev/status-board.ts';
import { lockStore } from './dev/store-lock.ts';
import { CLI_SETTINGS } from './settings.ts';
import { temporaryDir } from './temp-dir.ts';
import { errorText } from '../protocol/errors.ts';

export const DEV_USAGE = `Usage: asya dev <dir> [options]

Runs every AsyncActor manifest under <dir> (runtimes as child processes, python3 or node), the gateway
(MCP, REST, SSE; tools from <dir>/tools.yaml; embedded store) and the crew, in one process.
While it runs: a saved handler file restarts that actor's runtime; a table shows each actor's queue,
in-flight, processed, errors and median time (on a terminal); Ctrl-C drains (twice: stops at once).

Options:
  --port <port>          Gateway port (default 8089; --demo: any free port)
  --transport <kind>     ${TRANSPORT_KINDS.join(', ')} (default memory); brokers are configured by the usual ASYA_* variables
  --data-dir <dir>       Where the embedded store keeps envelopes (default .asya/gateway; --demo: in memory)
  --demo                 Make the calls in <dir>/demo.yaml through MCP, print their progress and results, exit
  --no-table             No live table, even on a terminal
  -h, --help             Show this help

Exit codes: 0 stopped cleanly (--demo: every call ended as demo.yaml expects), 1 a demo call did not,
2 usage, 130 stopped by a second Ctrl-C before the drain ended.`;

const DEV_SETTINGS = pickSettings(CLI_SETTINGS, ['logLevel', 'apiToken']);
const DRAIN_REPORT_EVERY_MS = 2000;
const TABLE_REFRESH_MS = 1000;

interface DevOptions {
  dir: string;
  transport: TransportKind;
  port: number;
  dataDir: string | undefined;
  demo: boolean;
  table: boolean;
}

function parseDevArgs(argv: string[]): DevOptions | undefined {
  let parsed;
  try {
    parsed = parseOptions({
      args: argv,
      allowPositionals: true,
      options: {
        demo: { type: 'boolean', default: false },
        port: { type: 'string' },
        transport: { type: 'string', default: 'memory' },
        'data-dir': { type: 'string' },
        'no-table': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new CliError(EXIT.usage, `${errorText(err)}\n\n${DEV_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  if (positionals.length > 1) throw new CliError(EXIT.usage, `one directory, got ${positionals.join(' ')}\n\n${DEV_USAGE}`);
  const dir = resolve(positionals[0] ?? '.');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(EXIT.usage, `no such directory: ${dir}`);
  const transport = values.transport as TransportKind;
  if (!(TRANSPORT_KINDS as readonly string[]).includes(transport)) throw new CliError(EXIT.usage, `--transport must be one of ${TRANSPORT_KINDS.join(', ')}; got ${JSON.stringify(values.transport)}`);
  const port = values.port === undefined ? (values.demo ? 0 : 8089) : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(EXIT.usage, `--port expects a port number (0-65535), got ${JSON.stringify(values.port)}`);
  if (values.demo && !existsSync(join(dir, 'demo.yaml'))) throw new CliError(EXIT.usage, `--demo needs ${join(dir, 'demo.yaml')}`);
  return {
    dir,
    transport,
    port,
    // The demo keeps its state in memory; a dev session keeps it under .asya/ so history survives a restart.
    dataDir: values['data-dir'] ?? (values.demo ? undefined : join(process.cwd(), '.asya', 'gateway')),
    demo: values.demo,
    table: !values['no-table'],
  };
}

export async function runDev(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number | void> {
  const options = parseDevArgs(argv);
  if (!options) {
    process.stdout.write(`${DEV_USAGE}\n`);
    return EXIT.ok;
  }
  const calls = options.demo ? readDemoFile(join(options.dir, 'demo.yaml')) : [];
  const board = statusBoard(options.table && process.stdout.isTTY === true);
  const settings = fromEnv(DEV_SETTINGS, env, { error: (message) => new CliError(EXIT.usage, message) });
  const level = settings.logLevel;
  const say = (line: string) => board.log(line);
  const toolsFile = existsSync(join(options.dir, 'tools.yaml')) ? join(options.dir, 'tools.yaml') : undefined;
  // Taken before anything starts: a second dev on the same store stops here, with nothing to undo.
  if (options.dataDir) lockStore(options.dataDir);
  // The demo's results are shown, then go with the process; a dev session keeps them beside its store.
  const demoResults = options.demo ? temporaryDir('asya-results-') : undefined;
  const resultsDir = join(demoResults?.path ?? join(process.cwd(), '.asya'), 'results');
  say(`starting ${options.dir} on the ${options.transport} transport${toolsFile ? `, tools from ${toolsFile}` : ''} (store ${options.dataDir ?? 'in memory'})`);
  // Until the drain can take over, a signal ends dev mode once what has started is stopped again.
  let interrupted: NodeJS.Signals | undefined;
  const early = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = signal;
    say(`${signal}: stopping as soon as the start is over (again to stop at once)`);
  };
  process.on('SIGINT', early);
  process.on('SIGTERM', early);
  const stack = await startDevStack({
    dir: options.dir,
    transport: options.transport,
    port: options.port,
    dataDir: options.dataDir,
    resultsDir,
    toolsFile,
    env,
    logger: (name) => boardLogger(board, level, name),
    say,
  });
  const refresh = async () => board.update(await stack.rows().catch(() => []));
  const ticker = setInterval(() => void refresh(), TABLE_REFRESH_MS);
  try {
    await waitForReady(stack.gateway.url, 60_000);
  } catch (err) {
    clearInterval(ticker);
    await stack.stop();
    throw err;
  }
  say(`gateway ${stack.gateway.url} (MCP ${stack.gateway.url}/mcp); results stored in ${resultsDir}`);
  process.removeListener('SIGINT', early);
  process.removeListener('SIGTERM', early);
  if (interrupted) {
    clearInterval(ticker);
    await stack.stop();
    return EXIT.interrupted;
  }

  if (options.demo) {
    // The demo's calls end by themselves; a signal stops them and everything else without waiting.
    let stopping = false;
    const stopNow = (signal: NodeJS.Signals) => {
      // A second signal while the stop waits for a handler: exit at once (the 'exit' hooks still clean up).
      if (stopping) process.exit(EXIT.interrupted);
      stopping = true;
      say(`${signal}: stopping the demo (again to stop at once)`);
      void stack.stop().finally(() => process.exit(EXIT.interrupted));
    };
    process.on('SIGINT', stopNow);
    process.on('SIGTERM', stopNow);
    const ok = await runDemo(stack.gateway.url, calls, (line) => board.print(line), settings.apiToken);
    demoResults?.keep();
    say(`stored results and errors: ${resultsDir}`);
    clearInterval(ticker);
    await refresh();
    await stack.stop();
    board.close();
    return ok ? EXIT.ok : EXIT.failed;
  }
  say(`ready: try 'asya tools' and 'asya call <tool> --<arg> <value>'${stack.gateway.port === 8089 ? '' : ` with --gateway ${stack.gateway.url}`}; Ctrl-C to stop`);
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      say(`${signal} again: stopping now; work still queued in memory is lost`);
      process.exit(EXIT.interrupted);
    }
    draining = true;
    drainAndExit(stack, board, options.transport, say, signal, ticker, refresh).catch((err: Error) => {
      say(`the drain failed: ${err.message}`);
      process.exit(EXIT.failed);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * In memory, stopping would lose whatever is still queued, so the drain first lets the pipeline run dry:
 * every accepted call reaches its final status. On a broker, queued messages are safe where they are, so
 * the actors stop taking new ones at once and only finish those in flight.
 */
async function drainAndExit(stack: DevStack, board: StatusBoard, transport: TransportKind, say: (line: string) => void, signal: string, ticker: NodeJS.Timeout, refresh: () => Promise<void>): Promise<never> {
  let dropped = 0;
  if (transport === 'memory') {
    say(`${signal}: draining: letting every queued call finish (Ctrl-C again to stop at once)`);
    let lastReport = Date.now();
    for (;;) {
      const { total, stranded } = await stack.pending();
      if (total === 0) {
        for (const s of stranded) say(`${s.messages} message(s) for ${s.actor} cannot run (its handler does not load) and are dropped with the in-memory queue`);
        dropped = stranded.reduce((sum, s) => sum + s.messages, 0);
        break;
      }
      if (Date.now() - lastReport >= DRAIN_REPORT_EVERY_MS) {
        say(`draining: ${total} message(s) still in the pipeline`);
        lastReport = Date.now();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } else {
    say(`${signal}: draining: the actors finish the messages in flight; queued ones stay on ${transport}`);
  }
  clearInterval(ticker);
  await refresh();
  const left = await stack.stop();
  board.close();
  if (transport !== 'memory') say(`drained: ${left} message(s) stay queued on ${transport} for the next run; stopped`);
  else if (dropped > 0) say(`drained: every call that could run finished; ${dropped} message(s) for actors that do not load were dropped; stopped`);
  else say('drained: every accepted call finished; stopped');
  process.exit(EXIT.ok);
}

/** The embedded database takes a few seconds to boot; /ready says when the gateway can take calls. */
async function waitForReady(gatewayUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${gatewayUrl}/ready`).then(
      (r) => r.status,
      (err: Error) => {
        // fetch refuses some ports outright (22, 25, 6000, ...): waiting would not help.
        if (errorText(err.cause) === 'bad port') throw new CliError(EXIT.usage, `fetch clients refuse to talk to ${gatewayUrl}; pick another --port`);
        return 0;
      },
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`the gateway at ${gatewayUrl} was not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
