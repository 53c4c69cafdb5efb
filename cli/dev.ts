/**
 * `asya dev <dir>`: the whole pipeline on one machine (cli/dev/stack.ts), a live table of the actors, handler
 * edits picked up, and a drain on Ctrl-C. With --demo it makes the calls in <dir>/demo.yaml through MCP and
 * exits 0 when each ended as the file expects.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseOptions } from './client/parse-options.ts';
import { fromEnv, pickSettings, settingsTable, toEnvRecord } from '../settings/index.ts';
import { startTracing, TELEMETRY_SETTINGS } from '../telemetry/index.ts';
import { LOG_FORMAT, LOG_FORMAT_ONLY, logFormatFromEnv, PAYLOAD_STORE } from '../protocol/settings.ts';
import type { LogFormat } from '../protocol/log.ts';
import { jsonProcessLog } from '../protocol/process-log.ts';
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
  --payload-store <where> A directory or s3://bucket/prefix for payloads over ASYA_PAYLOAD_OFFLOAD_BYTES (the claim check)
  --demo                 Make the calls in <dir>/demo.yaml through MCP, print their progress and results, exit
  --no-table             No live table, even on a terminal
  --log-format <format>  text or json (one JSON object per line) for dev mode and every component it runs;
                         wins over ASYA_LOG_FORMAT
  --otlp <url>           Export OpenTelemetry spans of every component to this OTLP/HTTP collector (e.g. http://localhost:4318)
  -h, --help             Show this help

Exit codes: 0 stopped cleanly (--demo: every call ended as demo.yaml expects), 1 a demo call did not,
2 usage, 130 stopped by a second Ctrl-C before the drain ended.`;

const DEV_SETTINGS = pickSettings(CLI_SETTINGS, ['logLevel', 'logFormat', 'apiToken']);
const PAYLOAD_STORE_ONLY = settingsTable('payload-store', { payloadStore: PAYLOAD_STORE });
const DRAIN_REPORT_EVERY_MS = 2000;
const TABLE_REFRESH_MS = 1000;

interface DevOptions {
  dir: string;
  transport: TransportKind;
  port: number;
  dataDir: string | undefined;
  /** ASYA_PAYLOAD_STORE for the gateway, every sidecar and the crew. */
  payloadStore: string | undefined;
  demo: boolean;
  table: boolean;
  otlp: string | undefined;
  logFormat: LogFormat | undefined;
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
        'payload-store': { type: 'string' },
        'no-table': { type: 'boolean', default: false },
        otlp: { type: 'string' },
        'log-format': { type: 'string' },
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
  if (values.otlp !== undefined) checkOtlp(values.otlp);
  return {
    dir,
    transport,
    port,
    // The demo keeps its state in memory; a dev session keeps it under .asya/ so history survives a restart.
    dataDir: values['data-dir'] ?? (values.demo ? undefined : join(process.cwd(), '.asya', 'gateway')),
    payloadStore: payloadStoreOption(values['payload-store']),
    demo: values.demo,
    table: !values['no-table'],
    otlp: values.otlp,
    logFormat: logFormatOption(values['log-format']),
  };
}

/** --log-format is read as ASYA_LOG_FORMAT is, so both accept and refuse the same values. */
function logFormatOption(value: string | undefined): LogFormat | undefined {
  if (value === undefined) return undefined;
  try {
    return LOG_FORMAT.kind.parse(value);
  } catch (err) {
    throw new CliError(EXIT.usage, `--log-format ${JSON.stringify(value)}: ${errorText(err)}`);
  }
}

/** A directory is made absolute (runtimes and the crew run elsewhere); an S3 store must name its bucket. */
function payloadStoreOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.startsWith('s3://')) {
    if (!/^s3:\/\/[^/]+/.test(value)) throw new CliError(EXIT.usage, `--payload-store s3://… needs a bucket (s3://bucket/prefix), got ${JSON.stringify(value)}`);
    return value;
  }
  if (value.trim() === '') throw new CliError(EXIT.usage, '--payload-store needs a directory or s3://bucket/prefix');
  return resolve(value.startsWith('file://') ? new URL(value).pathname : value);
}

/** --otlp is read as OTEL_EXPORTER_OTLP_ENDPOINT is: the same kind, so both refuse the same values. */
function checkOtlp(value: string): void {
  try {
    TELEMETRY_SETTINGS.settings.endpoint.kind.parse(value);
  } catch (err) {
    throw new CliError(EXIT.usage, `--otlp ${JSON.stringify(value)}: ${errorText(err)} (an OTLP/HTTP collector)`);
  }
}

export async function runDev(argv: string[], given: Record<string, string | undefined> = process.env): Promise<number | void> {
  const options = parseDevArgs(argv);
  if (!options) {
    process.stdout.write(`${DEV_USAGE}\n`);
    return EXIT.ok;
  }
  // Every component dev mode starts reads these from its env: the OTLP endpoint (the crew's runtimes export
  // their own spans), the payload store (the gateway, every sidecar and the crew share the one setting) and
  // the log format (runtime children and the crew's runtimes log by it themselves).
  const env = {
    ...given,
    ...(options.otlp ? toEnvRecord(TELEMETRY_SETTINGS, { endpoint: options.otlp }) : {}),
    ...(options.payloadStore ? toEnvRecord(PAYLOAD_STORE_ONLY, { payloadStore: options.payloadStore }) : {}),
    ...(options.logFormat ? toEnvRecord(LOG_FORMAT_ONLY, { logFormat: options.logFormat }) : {}),
  };
  // `asya` routed the process's own output (Node's warnings, a failing command's error) by ASYA_LOG_FORMAT
  // before this command ran; --log-format json asks for the same routing.
  const jsonLog = options.logFormat === 'json' && logFormatFromEnv(given) !== 'json' ? jsonProcessLog('asya.dev', env) : undefined;
  if (!jsonLog) return devSession(options, env);
  try {
    return await devSession(options, env);
  } catch (err) {
    jsonLog.error(errorText(err));
    return err instanceof CliError ? err.exitCode : EXIT.failed;
  }
}

async function devSession(options: DevOptions, env: Record<string, string | undefined>): Promise<number | void> {
  const calls = options.demo ? readDemoFile(join(options.dir, 'demo.yaml')) : [];
  const settings = fromEnv(DEV_SETTINGS, env, { error: (message) => new CliError(EXIT.usage, message) });
  const { logLevel: level, logFormat: format } = settings;
  const board = statusBoard(options.table && process.stdout.isTTY === true, format);
  const say = (line: string) => board.log(line);
  const toolsFile = existsSync(join(options.dir, 'tools.yaml')) ? join(options.dir, 'tools.yaml') : undefined;
  // Taken before anything starts: a second dev on the same store stops here, with nothing to undo.
  if (options.dataDir) lockStore(options.dataDir);
  // The demo's results are shown, then go with the process; a dev session keeps them beside its store.
  const demoResults = options.demo ? temporaryDir('asya-results-') : undefined;
  const resultsDir = join(demoResults?.path ?? join(process.cwd(), '.asya'), 'results');
  const tracing = await startTracing('dev', env, say);
  if (tracing.enabled) say(`exporting spans to ${options.otlp ?? 'the OTLP endpoint of OTEL_EXPORTER_OTLP_ENDPOINT'}`);
  say(`starting ${options.dir} on the ${options.transport} transport${toolsFile ? `, tools from ${toolsFile}` : ''} (store ${options.dataDir ?? 'in memory'}${options.payloadStore ? `, payloads over the threshold in ${options.payloadStore}` : ''})`);
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
    logFormat: format,
    logger: (name, actor) => boardLogger(board, level, name, format, actor),
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
  if (stack.gateway.deps.options.ui) say(`console ${stack.gateway.url}/ui/`);
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
    await tracing.shutdown();
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
    drainAndExit(stack, board, options.transport, say, signal, ticker, refresh, () => tracing.shutdown()).catch((err: Error) => {
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
async function drainAndExit(stack: DevStack, board: StatusBoard, transport: TransportKind, say: (line: string) => void, signal: string, ticker: NodeJS.Timeout, refresh: () => Promise<void>, flush: () => Promise<void>): Promise<never> {
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
  await flush();
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
