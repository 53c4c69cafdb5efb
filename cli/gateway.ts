/**
 * `asya gateway`: the MCP/REST gateway, configured from the environment (docs/gateway.md), with --port
 * and --config as shortcuts for ASYA_GATEWAY_PORT and ASYA_CONFIG_PATH. Drains on SIGTERM/SIGINT.
 * `asya gateway migrate`: applies the database migrations and exits, for a deploy step that runs before
 * the gateways start with ASYA_GATEWAY_AUTO_MIGRATE=false.
 */
import { parseOptions } from './client/parse-options.ts';
import { createLogger } from '../protocol/log.ts';
import { logFormatFromEnv, logLevelFromEnv } from '../protocol/settings.ts';
import { GATEWAY_SETTINGS } from '../gateway/settings.ts';
import { envName, fromEnv, pickSettings } from '../settings/index.ts';
import { errorText } from '../protocol/errors.ts';
import { startTracing, type Tracing } from '../telemetry/index.ts';
import type { ConsoleSources } from '../gateway/console/sources.ts';
import { DLQ_CLI_SETTINGS } from './settings.ts';

const USAGE = `Usage: asya gateway [--port <port>] [--config <tools.yaml or dir>]
       asya gateway migrate

Environment: ASYA_GATEWAY_PORT, ASYA_CONFIG_PATH, ASYA_DATABASE_URL, ASYA_TRANSPORT, ... (see docs/gateway.md)`;

export async function runGateway(args: string[], env: Record<string, string | undefined> = process.env): Promise<void> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: { port: { type: 'string', short: 'p' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [command] = positionals;
  if (command === 'migrate') return migrate(env);
  if (command !== undefined) throw new Error(`unknown gateway command '${command}'\n\n${USAGE}`);
  const merged = {
    ...env,
    // As given on the command line: the gateway reads and checks them like the variables they stand for.
    ...(values.port !== undefined ? { [envName(GATEWAY_SETTINGS, 'port')]: values.port } : {}),
    ...(values.config !== undefined ? { [envName(GATEWAY_SETTINGS, 'configPath')]: values.config } : {}),
  };
  const { startGateway } = await import('../gateway/server.ts');
  const early = createLogger(logLevelFromEnv(env), 'asya.gateway', { format: logFormatFromEnv(env) });
  // Signals are taken from the start: one that arrives while the gateway is still starting (it already
  // listens, the outbox relay is not up yet) stops it as soon as it is up, rather than killing it unclean.
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  let signalled: string | undefined;
  let tracing: Tracing | undefined;
  const stop = (signal: string) => {
    if (!gateway) {
      signalled = signal;
      return;
    }
    const log = gateway.deps.log;
    log.info(`${signal}: shutting down`);
    void gateway.stop().then(
      () => void Promise.resolve(tracing?.shutdown()).finally(() => process.exit(0)),
      (err: unknown) => {
        log.error(`shutdown: ${errorText(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  tracing = await startTracing('gateway', merged, (message) => early.warn(message));
  // The console reads and replays the DLQ on the gateway's own transport, once it has one.
  const consoleSources: ConsoleSources = { actorsNote: "the gateway does not see the actors in a cluster: their numbers are the sidecars' Prometheus metrics; set ASYA_GATEWAY_PROMETHEUS_URL to show them here (docs/console.md)" };
  gateway = await startGateway({ env: merged, consoleSources });
  const { consoleDeadLetters } = await import('./console-dlq.ts');
  consoleSources.deadLetters = consoleDeadLetters(gateway.deps.transport, fromEnv(DLQ_CLI_SETTINGS, env).dlqQueue);
  if (signalled) stop(signalled);
}

async function migrate(env: Record<string, string | undefined>): Promise<void> {
  const { databaseUrl: url, databaseSchema: schema, logLevel, logFormat } = fromEnv(MIGRATE_SETTINGS, env);
  if (!url) throw new Error(`migrate needs ${envName(GATEWAY_SETTINGS, 'databaseUrl')} (the embedded store migrates itself when the gateway starts)`);
  const log = createLogger(logLevel, 'asya.gateway', { format: logFormat });
  const { openPostgresStore } = await import('../gateway/store/index.ts');
  const store = await openPostgresStore({ url, ...(schema ? { schema } : {}), migrate: true, applicationName: 'asya-gateway-migrate' });
  await store.close();
  log.info(`migrations applied; the schema${schema ? ` ${schema}` : ''} is up to date`);
}

const MIGRATE_SETTINGS = pickSettings(GATEWAY_SETTINGS, ['databaseUrl', 'databaseSchema', 'logLevel', 'logFormat']);
